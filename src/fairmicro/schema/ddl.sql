-- generated from fairmicro.yaml by fairmicro.schema.generate; do not edit
CREATE TABLE specimens (
    specimen_id VARCHAR NOT NULL,
    material VARCHAR,
    alloy VARCHAR,
    composition VARCHAR,
    heat_treatment_temperature_c DOUBLE,
    heat_treatment_duration_h DOUBLE CHECK (heat_treatment_duration_h >= 0),
    cooling_method VARCHAR CHECK (cooling_method IN ('water_quench', 'brine_quench', 'oil_quench', 'polymer_quench', 'air_cool', 'furnace_cool', 'other')),
    etchant VARCHAR,
    etching_time_s DOUBLE CHECK (etching_time_s >= 0),
    attributes JSON,
    PRIMARY KEY (specimen_id)
);
COMMENT ON TABLE specimens IS 'A physical specimen with its material, heat treatment and preparation.';
COMMENT ON COLUMN specimens.specimen_id IS 'Lab identifier of the specimen (as written in the specimen table and file names).';
COMMENT ON COLUMN specimens.material IS 'Material class or family, e.g. "UHCS", "HCCI", "Ti-6Al-4V".';
COMMENT ON COLUMN specimens.alloy IS 'Alloy designation or grade, e.g. "AISI 52100".';
COMMENT ON COLUMN specimens.composition IS 'Nominal chemical composition as written by the lab, e.g. "Fe-1.4C-0.4Mn (wt%)".';
COMMENT ON COLUMN specimens.heat_treatment_temperature_c IS 'Soak temperature of the heat treatment. [Cel]';
COMMENT ON COLUMN specimens.heat_treatment_duration_h IS 'Soak duration of the heat treatment. [h]';
COMMENT ON COLUMN specimens.cooling_method IS 'Cooling or quench method after the heat treatment.';
COMMENT ON COLUMN specimens.etchant IS 'Etchant used in metallographic preparation, e.g. "2% Nital".';
COMMENT ON COLUMN specimens.etching_time_s IS 'Etching time. [s]';
COMMENT ON COLUMN specimens.attributes IS 'Further columns of the specimen table (lab columns), as a JSON object keyed by column_name; each is also a typed column of image_metadata (see specimen_columns).';

CREATE TABLE specimen_columns (
    column_name VARCHAR NOT NULL,
    source_file VARCHAR,
    source_header VARCHAR,
    source_unit VARCHAR,
    value_type VARCHAR NOT NULL CHECK (value_type IN ('number', 'text')),
    PRIMARY KEY (column_name)
);
COMMENT ON TABLE specimen_columns IS 'A lab column of the specimen table that is not a schema slot, and where it came from.';
COMMENT ON COLUMN specimen_columns.column_name IS 'Name of a lab column in image_metadata and in built datasets: the header made a safe SQL identifier (lower case, a unit in brackets kept as a suffix, e.g. "anneal_time_min").';
COMMENT ON COLUMN specimen_columns.source_file IS 'File name of the specimen table a lab column was last read from.';
COMMENT ON COLUMN specimen_columns.source_header IS 'The column''s header exactly as written in the specimen table.';
COMMENT ON COLUMN specimen_columns.source_unit IS 'Unit written in the header (in brackets), when there is one, e.g. "min" or "wt%".';
COMMENT ON COLUMN specimen_columns.value_type IS 'Whether the column holds numbers or text.';

CREATE TABLE instruments (
    instrument_id VARCHAR NOT NULL,
    vendor VARCHAR,
    instrument_model VARCHAR,
    instrument_serial VARCHAR,
    PRIMARY KEY (instrument_id)
);
COMMENT ON TABLE instruments IS 'A microscope, identified by vendor, model and serial.';
COMMENT ON COLUMN instruments.instrument_id IS 'Stable id of an instrument, derived from vendor, model and serial number.';
COMMENT ON COLUMN instruments.vendor IS 'Manufacturer of the microscope, e.g. "Zeiss", "FEI", "TESCAN".';
COMMENT ON COLUMN instruments.instrument_model IS 'Instrument model as the vendor software reports it, e.g. "Helios NanoLab 660".';
COMMENT ON COLUMN instruments.instrument_serial IS 'Serial number or system name of the instrument.';

CREATE TABLE imaging_conditions (
    image_sha256 VARCHAR NOT NULL,
    detector VARCHAR,
    detector_mode VARCHAR,
    accelerating_voltage_kv DOUBLE CHECK (accelerating_voltage_kv >= 0),
    beam_current_na DOUBLE,
    working_distance_mm DOUBLE CHECK (working_distance_mm >= 0),
    dwell_time_us DOUBLE CHECK (dwell_time_us >= 0),
    magnification DOUBLE CHECK (magnification >= 0),
    horizontal_field_width_um DOUBLE CHECK (horizontal_field_width_um >= 0),
    pixel_size_x_nm DOUBLE CHECK (pixel_size_x_nm >= 0),
    pixel_size_y_nm DOUBLE CHECK (pixel_size_y_nm >= 0),
    stage_x_mm DOUBLE,
    stage_y_mm DOUBLE,
    stage_z_mm DOUBLE,
    stage_rotation_deg DOUBLE,
    stage_tilt_deg DOUBLE,
    brightness_percent DOUBLE,
    contrast_percent DOUBLE,
    acquired_at TIMESTAMP,
    operator VARCHAR,
    PRIMARY KEY (image_sha256)
);
COMMENT ON TABLE imaging_conditions IS 'The imaging conditions of one image, normalised to the units in the slot names.';
COMMENT ON COLUMN imaging_conditions.image_sha256 IS 'SHA-256 of the image file this record belongs to.';
COMMENT ON COLUMN imaging_conditions.detector IS 'Detector or signal used to form the image, e.g. "ETD", "InLens", "HE-SE2".';
COMMENT ON COLUMN imaging_conditions.detector_mode IS 'Detector mode or signal type, e.g. "SE", "BSE".';
COMMENT ON COLUMN imaging_conditions.accelerating_voltage_kv IS 'Accelerating voltage (high tension) of the primary beam. [kV]';
COMMENT ON COLUMN imaging_conditions.beam_current_na IS 'Beam (probe) current. [nA]';
COMMENT ON COLUMN imaging_conditions.working_distance_mm IS 'Working distance. [mm]';
COMMENT ON COLUMN imaging_conditions.dwell_time_us IS 'Pixel dwell time. [us]';
COMMENT ON COLUMN imaging_conditions.magnification IS 'Nominal magnification as reported by the instrument (its own display reference).';
COMMENT ON COLUMN imaging_conditions.horizontal_field_width_um IS 'Width of the scanned field in the saved image. [um]';
COMMENT ON COLUMN imaging_conditions.pixel_size_x_nm IS 'Physical width of one pixel of the saved image (not of the store resolution). [nm]';
COMMENT ON COLUMN imaging_conditions.pixel_size_y_nm IS 'Physical height of one pixel of the saved image. [nm]';
COMMENT ON COLUMN imaging_conditions.stage_x_mm IS 'Stage X position. [mm]';
COMMENT ON COLUMN imaging_conditions.stage_y_mm IS 'Stage Y position. [mm]';
COMMENT ON COLUMN imaging_conditions.stage_z_mm IS 'Stage Z position. [mm]';
COMMENT ON COLUMN imaging_conditions.stage_rotation_deg IS 'Stage rotation. [deg]';
COMMENT ON COLUMN imaging_conditions.stage_tilt_deg IS 'Stage tilt. [deg]';
COMMENT ON COLUMN imaging_conditions.brightness_percent IS 'Detector brightness setting. [%]';
COMMENT ON COLUMN imaging_conditions.contrast_percent IS 'Detector contrast setting. [%]';
COMMENT ON COLUMN imaging_conditions.acquired_at IS 'Acquisition date and time as written by the instrument (local time, no zone).';
COMMENT ON COLUMN imaging_conditions.operator IS 'User name logged in at the instrument.';

CREATE TABLE images (
    sha256 VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    file_format VARCHAR NOT NULL CHECK (file_format IN ('tiff', 'png', 'jpeg', 'bmp')),
    size_bytes BIGINT CHECK (size_bytes >= 0),
    width_px BIGINT NOT NULL CHECK (width_px >= 1),
    height_px BIGINT NOT NULL CHECK (height_px >= 1),
    bit_depth BIGINT NOT NULL CHECK (bit_depth >= 1),
    channels BIGINT NOT NULL CHECK (channels >= 1),
    page_index BIGINT CHECK (page_index >= 0),
    page_count BIGINT CHECK (page_count >= 1),
    data_bar_height_px BIGINT CHECK (data_bar_height_px >= 0),
    extractor VARCHAR NOT NULL,
    extractor_version VARCHAR NOT NULL,
    vendor_metadata JSON,
    extraction_warnings JSON,
    instrument_id VARCHAR,
    specimen_id VARCHAR,
    label VARCHAR,
    label_source VARCHAR CHECK (label_source IN ('folder', 'table', 'manual', 'predicted')),
    ingested_at TIMESTAMP,
    PRIMARY KEY (sha256)
);
COMMENT ON TABLE images IS 'One image, identified by the SHA-256 of its file.';
COMMENT ON COLUMN images.sha256 IS 'SHA-256 of the file''s bytes; the identity of the image.';
COMMENT ON COLUMN images.path IS 'Absolute path of the file when it was first ingested.';
COMMENT ON COLUMN images.file_format IS 'Container format of the file.';
COMMENT ON COLUMN images.size_bytes IS 'File size. [By]';
COMMENT ON COLUMN images.width_px IS 'Width of the saved image.';
COMMENT ON COLUMN images.height_px IS 'Height of the saved image, including any data bar.';
COMMENT ON COLUMN images.bit_depth IS 'Bits per sample.';
COMMENT ON COLUMN images.channels IS 'Samples per pixel (1 grey, 3 RGB, 4 RGBA).';
COMMENT ON COLUMN images.page_index IS 'Index of the page (IFD) the pixel data and metadata were read from.';
COMMENT ON COLUMN images.page_count IS 'Number of pages in the file.';
COMMENT ON COLUMN images.data_bar_height_px IS 'Rows of vendor data bar below the image proper; builders crop them.';
COMMENT ON COLUMN images.extractor IS 'Name of the extractor that read the file.';
COMMENT ON COLUMN images.extractor_version IS 'Version of the extractor (fairmicro version for built-ins).';
COMMENT ON COLUMN images.vendor_metadata IS 'The raw vendor metadata block, as JSON.';
COMMENT ON COLUMN images.extraction_warnings IS 'Values present in the file that could not be parsed, as a JSON list of {slot, message}.';
COMMENT ON COLUMN images.instrument_id IS 'Instrument that acquired the image.';
COMMENT ON COLUMN images.specimen_id IS 'Specimen shown in the image.';
COMMENT ON COLUMN images.label IS 'Class label of the image (e.g. microconstituent).';
COMMENT ON COLUMN images.label_source IS 'Where the label came from.';
COMMENT ON COLUMN images.ingested_at IS 'When the image was first added to the catalog (UTC).';

CREATE TABLE image_files (
    path VARCHAR NOT NULL,
    image_sha256 VARCHAR NOT NULL,
    size_bytes BIGINT CHECK (size_bytes >= 0),
    modified_at TIMESTAMP,
    last_seen_at TIMESTAMP,
    PRIMARY KEY (path)
);
COMMENT ON TABLE image_files IS 'A path at which an image''s bytes were seen; renamed copies are several files of one image.';
COMMENT ON COLUMN image_files.path IS 'Absolute path of the file when it was first ingested.';
COMMENT ON COLUMN image_files.image_sha256 IS 'SHA-256 of the image file this record belongs to.';
COMMENT ON COLUMN image_files.size_bytes IS 'File size. [By]';
COMMENT ON COLUMN image_files.modified_at IS 'File modification time when seen (UTC).';
COMMENT ON COLUMN image_files.last_seen_at IS 'Last time an ingest saw the file at this path (UTC).';

CREATE TABLE field_sources (
    image_sha256 VARCHAR NOT NULL,
    slot_name VARCHAR NOT NULL,
    source_key VARCHAR NOT NULL,
    raw_value VARCHAR,
    conversion VARCHAR,
    PRIMARY KEY (image_sha256, slot_name)
);
COMMENT ON TABLE field_sources IS 'Where a normalised value came from, the per-field trail.';
COMMENT ON COLUMN field_sources.image_sha256 IS 'SHA-256 of the image file this record belongs to.';
COMMENT ON COLUMN field_sources.slot_name IS 'Name of the normalised slot.';
COMMENT ON COLUMN field_sources.source_key IS 'Vendor key the value was read from, e.g. "EBeam/HV" or "ap_wd".';
COMMENT ON COLUMN field_sources.raw_value IS 'The raw value as found in the file, as text.';
COMMENT ON COLUMN field_sources.conversion IS 'The conversion applied, e.g. "V -> kV (x 0.001)".';

CREATE TABLE annotations (
    annotation_id VARCHAR NOT NULL,
    image_sha256 VARCHAR NOT NULL,
    annotation_kind VARCHAR NOT NULL CHECK (annotation_kind IN ('class_label', 'mask', 'review')),
    label VARCHAR,
    label_source VARCHAR CHECK (label_source IN ('folder', 'table', 'manual', 'predicted')),
    confidence DOUBLE CHECK (confidence >= 0 AND confidence <= 1),
    mask_path VARCHAR,
    model_run_id VARCHAR,
    created_at TIMESTAMP,
    created_by VARCHAR,
    mask_sha256 VARCHAR,
    mask_source VARCHAR CHECK (mask_source IN ('manual', 'predicted')),
    mask_encoding VARCHAR CHECK (mask_encoding IN ('label_map', 'colour_map')),
    mask_height_px BIGINT CHECK (mask_height_px >= 1),
    class_map_id VARCHAR,
    PRIMARY KEY (annotation_id)
);
COMMENT ON TABLE annotations IS 'A label, mask or review item attached to an image.';
COMMENT ON COLUMN annotations.annotation_id IS 'Id of the annotation.';
COMMENT ON COLUMN annotations.image_sha256 IS 'SHA-256 of the image file this record belongs to.';
COMMENT ON COLUMN annotations.annotation_kind IS 'What the annotation is.';
COMMENT ON COLUMN annotations.label IS 'Class label of the image (e.g. microconstituent).';
COMMENT ON COLUMN annotations.label_source IS 'Where the label came from.';
COMMENT ON COLUMN annotations.confidence IS 'Model probability for a predicted label.';
COMMENT ON COLUMN annotations.mask_path IS 'Path of a mask file for segmentation annotations.';
COMMENT ON COLUMN annotations.model_run_id IS 'Model run that produced a record, if any.';
COMMENT ON COLUMN annotations.created_at IS 'When the record was created (UTC).';
COMMENT ON COLUMN annotations.created_by IS 'Person or run that created the record.';
COMMENT ON COLUMN annotations.mask_sha256 IS 'SHA-256 of the mask file''s bytes when it was paired with its image.';
COMMENT ON COLUMN annotations.mask_source IS 'Whether the mask was drawn by a person or predicted by a model run.';
COMMENT ON COLUMN annotations.mask_encoding IS 'Whether the mask file holds class values or class colours.';
COMMENT ON COLUMN annotations.mask_height_px IS 'Image rows the mask covers, from the top (a mask may be shorter than its image when the data bar was cropped from the mask only); rows below have no mask and are left out of training and scoring. [{px}]';
COMMENT ON COLUMN annotations.class_map_id IS 'Id of a mask class map (hash of its values, names and colours).';

CREATE TABLE mask_classes (
    class_map_id VARCHAR NOT NULL,
    class_value BIGINT NOT NULL CHECK (class_value >= 0 AND class_value <= 254),
    class_name VARCHAR NOT NULL,
    class_colour VARCHAR,
    PRIMARY KEY (class_map_id, class_value)
);
COMMENT ON TABLE mask_classes IS 'One class of a mask class map (value in the decoded label map, name, colour).';
COMMENT ON COLUMN mask_classes.class_map_id IS 'Id of a mask class map (hash of its values, names and colours).';
COMMENT ON COLUMN mask_classes.class_value IS 'Pixel value of a class in a decoded mask label map.';
COMMENT ON COLUMN mask_classes.class_name IS 'Name of a mask class, e.g. "oxide".';
COMMENT ON COLUMN mask_classes.class_colour IS 'Colour of a mask class as "#rrggbb" (how colour-map masks draw it), if any.';

CREATE TABLE datasets (
    dataset_id VARCHAR NOT NULL,
    name VARCHAR,
    fingerprint VARCHAR,
    selection_sql VARCHAR,
    parameters JSON,
    counts JSON,
    output_path VARCHAR,
    fairmicro_version VARCHAR,
    created_at TIMESTAMP,
    PRIMARY KEY (dataset_id)
);
COMMENT ON TABLE datasets IS 'One build of a dataset from the catalog.';
COMMENT ON COLUMN datasets.dataset_id IS 'Id of a dataset build.';
COMMENT ON COLUMN datasets.name IS 'Human-readable name.';
COMMENT ON COLUMN datasets.fingerprint IS 'Hash of image hashes, labels, tiling and split settings; same inputs, same fingerprint.';
COMMENT ON COLUMN datasets.selection_sql IS 'SQL predicate over image_metadata that selected the images.';
COMMENT ON COLUMN datasets.parameters IS 'Parameters as a JSON object.';
COMMENT ON COLUMN datasets.counts IS 'Counts per split and class as a JSON object.';
COMMENT ON COLUMN datasets.output_path IS 'Folder the dataset was written to.';
COMMENT ON COLUMN datasets.fairmicro_version IS 'Version of fairmicro that wrote the record.';
COMMENT ON COLUMN datasets.created_at IS 'When the record was created (UTC).';

CREATE TABLE dataset_images (
    dataset_id VARCHAR NOT NULL,
    image_sha256 VARCHAR NOT NULL,
    split VARCHAR,
    tile_count BIGINT CHECK (tile_count >= 0),
    PRIMARY KEY (dataset_id, image_sha256)
);
COMMENT ON TABLE dataset_images IS 'Membership of an image in a dataset build, with its split.';
COMMENT ON COLUMN dataset_images.dataset_id IS 'Id of a dataset build.';
COMMENT ON COLUMN dataset_images.image_sha256 IS 'SHA-256 of the image file this record belongs to.';
COMMENT ON COLUMN dataset_images.split IS 'Dataset split used.';
COMMENT ON COLUMN dataset_images.tile_count IS 'Number of tiles (rows) an image contributed.';

CREATE TABLE publications (
    publication_id VARCHAR NOT NULL,
    dataset_id VARCHAR NOT NULL,
    fingerprint VARCHAR,
    repo_id VARCHAR,
    revision_sha VARCHAR,
    tag VARCHAR,
    endpoint VARCHAR,
    private BOOLEAN,
    published_at TIMESTAMP,
    PRIMARY KEY (publication_id)
);
COMMENT ON TABLE publications IS 'One push of a dataset build to a Hugging Face Hub repository.';
COMMENT ON COLUMN publications.publication_id IS 'Id of one publication of a dataset build.';
COMMENT ON COLUMN publications.dataset_id IS 'Id of a dataset build.';
COMMENT ON COLUMN publications.fingerprint IS 'Hash of image hashes, labels, tiling and split settings; same inputs, same fingerprint.';
COMMENT ON COLUMN publications.repo_id IS 'Hub repository id, e.g. "my-lab/hcci-tiles".';
COMMENT ON COLUMN publications.revision_sha IS 'Commit sha of the Hub revision that holds the published files.';
COMMENT ON COLUMN publications.tag IS 'Tag created on the Hub for this publication, e.g. "v1.0".';
COMMENT ON COLUMN publications.endpoint IS 'Hub endpoint URL the dataset was published to.';
COMMENT ON COLUMN publications.private IS 'Whether the Hub repository is private.';
COMMENT ON COLUMN publications.published_at IS 'When the publication''s commit was confirmed (UTC).';

CREATE TABLE model_runs (
    run_id VARCHAR NOT NULL,
    plugin VARCHAR NOT NULL,
    plugin_version VARCHAR,
    parameters JSON,
    dataset_ref VARCHAR,
    dataset_revision VARCHAR,
    split VARCHAR,
    seed BIGINT,
    metrics JSON,
    artifacts JSON,
    library_versions JSON,
    started_at TIMESTAMP,
    ended_at TIMESTAMP,
    host VARCHAR,
    status VARCHAR CHECK (status IN ('running', 'succeeded', 'failed')),
    run_kind VARCHAR CHECK (run_kind IN ('train', 'evaluate', 'predict', 'pretrain', 'qualify')),
    parent_run_id VARCHAR,
    task VARCHAR CHECK (task IN ('classification', 'segmentation', 'pretraining', 'zero-shot')),
    PRIMARY KEY (run_id)
);
COMMENT ON TABLE model_runs IS 'One train, evaluate or predict run of a model plugin, with its provenance.';
COMMENT ON COLUMN model_runs.run_id IS 'Id of a model run.';
COMMENT ON COLUMN model_runs.plugin IS 'Model plugin name.';
COMMENT ON COLUMN model_runs.plugin_version IS 'Model plugin version.';
COMMENT ON COLUMN model_runs.parameters IS 'Parameters as a JSON object.';
COMMENT ON COLUMN model_runs.dataset_ref IS 'What the run read; a Hub id, a local folder or a catalog dataset name.';
COMMENT ON COLUMN model_runs.dataset_revision IS 'Hub revision sha or dataset fingerprint that was read.';
COMMENT ON COLUMN model_runs.split IS 'Dataset split used.';
COMMENT ON COLUMN model_runs.seed IS 'Random seed.';
COMMENT ON COLUMN model_runs.metrics IS 'Metrics as a JSON object.';
COMMENT ON COLUMN model_runs.artifacts IS 'Artifact paths with sha256, as JSON.';
COMMENT ON COLUMN model_runs.library_versions IS 'Versions of the libraries used, as JSON.';
COMMENT ON COLUMN model_runs.started_at IS 'Start time (UTC).';
COMMENT ON COLUMN model_runs.ended_at IS 'End time (UTC).';
COMMENT ON COLUMN model_runs.host IS 'Host name the run ran on.';
COMMENT ON COLUMN model_runs.status IS 'Run status.';
COMMENT ON COLUMN model_runs.run_kind IS 'Whether the run trained, evaluated or predicted.';
COMMENT ON COLUMN model_runs.parent_run_id IS 'The training run whose model an evaluate or predict run used.';
COMMENT ON COLUMN model_runs.task IS 'The task of the run''s model plugin (classification, segmentation, pretraining, zero-shot).';

CREATE TABLE predictions (
    model_run_id VARCHAR NOT NULL,
    image_sha256 VARCHAR NOT NULL,
    tile_x_px BIGINT NOT NULL CHECK (tile_x_px >= 0),
    tile_y_px BIGINT NOT NULL CHECK (tile_y_px >= 0),
    split VARCHAR,
    true_label VARCHAR,
    predicted_label VARCHAR,
    confidence DOUBLE CHECK (confidence >= 0 AND confidence <= 1),
    probabilities JSON,
    PRIMARY KEY (model_run_id, image_sha256, tile_x_px, tile_y_px)
);
COMMENT ON TABLE predictions IS 'A model''s output for one image or tile in one run.';
COMMENT ON COLUMN predictions.model_run_id IS 'Model run that produced a record, if any.';
COMMENT ON COLUMN predictions.image_sha256 IS 'SHA-256 of the image file this record belongs to.';
COMMENT ON COLUMN predictions.tile_x_px IS 'Column of a tile''s left edge in the image after data-bar cropping.';
COMMENT ON COLUMN predictions.tile_y_px IS 'Row of a tile''s top edge in the image after data-bar cropping.';
COMMENT ON COLUMN predictions.split IS 'Dataset split used.';
COMMENT ON COLUMN predictions.true_label IS 'The label the dataset gives, when known.';
COMMENT ON COLUMN predictions.predicted_label IS 'The most probable class.';
COMMENT ON COLUMN predictions.confidence IS 'Model probability for a predicted label.';
COMMENT ON COLUMN predictions.probabilities IS 'Probability of every class, as a JSON object.';

CREATE TABLE qualifications (
    model_run_id VARCHAR NOT NULL,
    image_sha256 VARCHAR NOT NULL,
    path VARCHAR,
    assessment VARCHAR NOT NULL,
    delta_clip DOUBLE,
    delta_flava DOUBLE,
    z_clip DOUBLE,
    z_flava DOUBLE,
    hybrid DOUBLE,
    decision VARCHAR CHECK (decision IN ('accept', 'reject')),
    top_k JSON,
    PRIMARY KEY (model_run_id, image_sha256, assessment)
);
COMMENT ON TABLE qualifications IS 'One image scored against one expert assessment in one zero-shot qualifier run.';
COMMENT ON COLUMN qualifications.model_run_id IS 'Model run that produced a record, if any.';
COMMENT ON COLUMN qualifications.image_sha256 IS 'SHA-256 of the image file this record belongs to.';
COMMENT ON COLUMN qualifications.path IS 'Path the image was read from.';
COMMENT ON COLUMN qualifications.assessment IS 'Name of an expert assessment (one criterion of an assessment set), e.g. "porosity".';
COMMENT ON COLUMN qualifications.delta_clip IS 'cos(image, mean positive prompt) - cos(image, mean negative prompt), CLIP embeddings.';
COMMENT ON COLUMN qualifications.delta_flava IS 'cos(image, mean positive reference) - cos(image, mean negative reference), FLAVA image embeddings.';
COMMENT ON COLUMN qualifications.z_clip IS 'delta_clip standardised by the run''s mean and population standard deviation for the assessment.';
COMMENT ON COLUMN qualifications.z_flava IS 'delta_flava standardised by the run''s mean and population standard deviation for the assessment.';
COMMENT ON COLUMN qualifications.hybrid IS 'Fused score, z_clip + z_flava (or their weighted sum); at or above the threshold means accept.';
COMMENT ON COLUMN qualifications.decision IS 'Whether the image meets the assessment.';
COMMENT ON COLUMN qualifications.top_k IS 'The nearest reference images by FLAVA cosine, as a JSON list of {path, cosine}.';

CREATE TABLE image_embeddings (
    image_sha256 VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL,
    model_revision VARCHAR NOT NULL,
    preprocessing VARCHAR NOT NULL,
    embedding JSON NOT NULL,
    created_at TIMESTAMP,
    PRIMARY KEY (image_sha256, model_id, model_revision, preprocessing)
);
COMMENT ON TABLE image_embeddings IS 'A cached image embedding of one model, so re-scoring computes no embedding twice.';
COMMENT ON COLUMN image_embeddings.image_sha256 IS 'SHA-256 of the image file this record belongs to.';
COMMENT ON COLUMN image_embeddings.model_id IS 'Model id (Hub id or local folder) that computed an embedding.';
COMMENT ON COLUMN image_embeddings.model_revision IS 'Hub commit sha of the model, or sha256 of a local folder''s files.';
COMMENT ON COLUMN image_embeddings.preprocessing IS 'How the image became model input (data bar crop, intensity scaling), so a changed recipe is not served from cache.';
COMMENT ON COLUMN image_embeddings.embedding IS 'The model''s image embedding as a JSON list of numbers (not normalised).';
COMMENT ON COLUMN image_embeddings.created_at IS 'When the record was created (UTC).';
