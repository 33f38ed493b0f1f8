# generated from fairmicro.yaml by fairmicro.schema.generate; do not edit
from __future__ import annotations

import re
import sys
from datetime import (
    date,
    datetime,
    time
)
from decimal import Decimal
from enum import Enum
from typing import (
    Any,
    ClassVar,
    Literal,
    Optional,
    Union
)

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer
)


metamodel_version = "1.12.0"
version = "0.1.0"


class ConfiguredBaseModel(BaseModel):
    model_config = ConfigDict(
        serialize_by_alias = True,
        validate_by_name = True,
        validate_assignment = True,
        validate_default = True,
        extra = "forbid",
        arbitrary_types_allowed = True,
        use_enum_values = True,
        strict = False,
    )





class LinkMLMeta(RootModel):
    root: dict[str, Any] = {}
    model_config = ConfigDict(frozen=True)

    def __getattr__(self, key:str):
        return getattr(self.root, key)

    def __getitem__(self, key:str):
        return self.root[key]

    def __setitem__(self, key:str, value):
        self.root[key] = value

    def __contains__(self, key:str) -> bool:
        return key in self.root


linkml_meta = None

class CoolingMethod(str, Enum):
    """
    How a specimen was cooled after heat treatment.
    """
    water_quench = "water_quench"
    """
    Quenched in water.
    """
    brine_quench = "brine_quench"
    """
    Quenched in brine.
    """
    oil_quench = "oil_quench"
    """
    Quenched in oil.
    """
    polymer_quench = "polymer_quench"
    """
    Quenched in a polymer solution.
    """
    air_cool = "air_cool"
    """
    Cooled in still or forced air.
    """
    furnace_cool = "furnace_cool"
    """
    Cooled slowly inside the furnace.
    """
    other = "other"
    """
    Any other method; describe it in the specimen attributes.
    """


class FileFormat(str, Enum):
    """
    Container format of an image file.
    """
    tiff = "tiff"
    png = "png"
    jpeg = "jpeg"
    bmp = "bmp"


class LabelSource(str, Enum):
    """
    Where an image label came from.
    """
    folder = "folder"
    """
    The name of the folder holding the file at ingest.
    """
    table = "table"
    """
    A column of the specimen or file table given at ingest.
    """
    manual = "manual"
    """
    Confirmed or corrected by a person.
    """
    predicted = "predicted"
    """
    Suggested by a model run and accepted above a confidence threshold.
    """


class AnnotationKind(str, Enum):
    class_label = "class_label"
    """
    One class label for the whole image.
    """
    mask = "mask"
    """
    A per-pixel segmentation mask stored as a file.
    """
    review = "review"
    """
    A model suggestion waiting for a person to confirm it.
    """


class MaskSource(str, Enum):
    """
    Who drew a segmentation mask.
    """
    manual = "manual"
    """
    Drawn by a person (ingested with `fairmicro ingest --masks`).
    """
    predicted = "predicted"
    """
    Predicted by a model run and accepted (`fairmicro predict --accept`).
    """


class MaskEncoding(str, Enum):
    """
    How the pixel values of a mask file encode its classes.
    """
    label_map = "label_map"
    """
    Each pixel holds its class value (0, 1, 2, ...).
    """
    colour_map = "colour_map"
    """
    Each pixel holds its class colour (RGB); a pixel of no class colour is class 0.
    """


class RunKind(str, Enum):
    """
    What a model run did.
    """
    train = "train"
    """
    Fitted a model (and evaluated it on the validation split).
    """
    evaluate = "evaluate"
    """
    Scored a trained model on a dataset split.
    """
    predict = "predict"
    """
    Suggested labels for catalog images.
    """
    pretrain = "pretrain"
    """
    Fitted a model on unlabelled images (self-supervised pretraining).
    """
    qualify = "qualify"
    """
    Scored catalog images against expert assessments without training (zero-shot qualifier).
    """


class ModelTask(str, Enum):
    """
    What kind of problem a model plugin solves (its task decides the dataset columns, metrics and rows a run writes).
    """
    classification = "classification"
    """
    One class per image or tile, from a label column.
    """
    segmentation = "segmentation"
    """
    One class per pixel, from a mask column.
    """
    pretraining = "pretraining"
    """
    Self-supervised learning from unlabelled images.
    """
    zero_shot = "zero-shot"
    """
    Scoring images without training on them.
    """


class RunStatus(str, Enum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class LabValueType(str, Enum):
    """
    How a lab column of the specimen table is typed in the catalog and in datasets.
    """
    number = "number"
    """
    Every value of the column is a number (DOUBLE in the catalog, float64 in datasets).
    """
    text = "text"
    """
    Anything else, including columns that mix numbers and text (VARCHAR, string).
    """


class QualifierDecision(str, Enum):
    """
    Whether an image meets an expert assessment (hybrid score at or above the threshold).
    """
    accept = "accept"
    """
    The hybrid score is at or above the threshold.
    """
    reject = "reject"
    """
    The hybrid score is below the threshold.
    """



class Specimen(ConfiguredBaseModel):
    """
    A physical specimen with its material, heat treatment and preparation.
    """
    specimen_id: str = Field(default=..., description="""Lab identifier of the specimen (as written in the specimen table and file names).""")
    material: Optional[str] = Field(default=None, description="""Material class or family, e.g. \"UHCS\", \"HCCI\", \"Ti-6Al-4V\".""")
    alloy: Optional[str] = Field(default=None, description="""Alloy designation or grade, e.g. \"AISI 52100\".""")
    composition: Optional[str] = Field(default=None, description="""Nominal chemical composition as written by the lab, e.g. \"Fe-1.4C-0.4Mn (wt%)\".""")
    heat_treatment_temperature_c: Optional[float] = Field(default=None, description="""Soak temperature of the heat treatment.""")
    heat_treatment_duration_h: Optional[float] = Field(default=None, description="""Soak duration of the heat treatment.""", ge=0)
    cooling_method: Optional[CoolingMethod] = Field(default=None, description="""Cooling or quench method after the heat treatment.""")
    etchant: Optional[str] = Field(default=None, description="""Etchant used in metallographic preparation, e.g. \"2% Nital\".""")
    etching_time_s: Optional[float] = Field(default=None, description="""Etching time.""", ge=0)
    attributes: Optional[str] = Field(default=None, description="""Further columns of the specimen table (lab columns), as a JSON object keyed by column_name; each is also a typed column of image_metadata (see specimen_columns).""")


class SpecimenColumn(ConfiguredBaseModel):
    """
    A lab column of the specimen table that is not a schema slot, and where it came from.
    """
    column_name: str = Field(default=..., description="""Name of a lab column in image_metadata and in built datasets: the header made a safe SQL identifier (lower case, a unit in brackets kept as a suffix, e.g. \"anneal_time_min\").""")
    source_file: Optional[str] = Field(default=None, description="""File name of the specimen table a lab column was last read from.""")
    source_header: Optional[str] = Field(default=None, description="""The column's header exactly as written in the specimen table.""")
    source_unit: Optional[str] = Field(default=None, description="""Unit written in the header (in brackets), when there is one, e.g. \"min\" or \"wt%\".""")
    value_type: LabValueType = Field(default=..., description="""Whether the column holds numbers or text.""")


class Instrument(ConfiguredBaseModel):
    """
    A microscope, identified by vendor, model and serial.
    """
    instrument_id: str = Field(default=..., description="""Stable id of an instrument, derived from vendor, model and serial number.""")
    vendor: Optional[str] = Field(default=None, description="""Manufacturer of the microscope, e.g. \"Zeiss\", \"FEI\", \"TESCAN\".""")
    instrument_model: Optional[str] = Field(default=None, description="""Instrument model as the vendor software reports it, e.g. \"Helios NanoLab 660\".""")
    instrument_serial: Optional[str] = Field(default=None, description="""Serial number or system name of the instrument.""")


class ImagingConditions(ConfiguredBaseModel):
    """
    The imaging conditions of one image, normalised to the units in the slot names.
    """
    image_sha256: str = Field(default=..., description="""SHA-256 of the image file this record belongs to.""")
    detector: Optional[str] = Field(default=None, description="""Detector or signal used to form the image, e.g. \"ETD\", \"InLens\", \"HE-SE2\".""")
    detector_mode: Optional[str] = Field(default=None, description="""Detector mode or signal type, e.g. \"SE\", \"BSE\".""")
    accelerating_voltage_kv: Optional[float] = Field(default=None, description="""Accelerating voltage (high tension) of the primary beam.""", ge=0)
    beam_current_na: Optional[float] = Field(default=None, description="""Beam (probe) current.""")
    working_distance_mm: Optional[float] = Field(default=None, description="""Working distance.""", ge=0)
    dwell_time_us: Optional[float] = Field(default=None, description="""Pixel dwell time.""", ge=0)
    magnification: Optional[float] = Field(default=None, description="""Nominal magnification as reported by the instrument (its own display reference).""", ge=0)
    horizontal_field_width_um: Optional[float] = Field(default=None, description="""Width of the scanned field in the saved image.""", ge=0)
    pixel_size_x_nm: Optional[float] = Field(default=None, description="""Physical width of one pixel of the saved image (not of the store resolution).""", ge=0)
    pixel_size_y_nm: Optional[float] = Field(default=None, description="""Physical height of one pixel of the saved image.""", ge=0)
    stage_x_mm: Optional[float] = Field(default=None, description="""Stage X position.""")
    stage_y_mm: Optional[float] = Field(default=None, description="""Stage Y position.""")
    stage_z_mm: Optional[float] = Field(default=None, description="""Stage Z position.""")
    stage_rotation_deg: Optional[float] = Field(default=None, description="""Stage rotation.""")
    stage_tilt_deg: Optional[float] = Field(default=None, description="""Stage tilt.""")
    brightness_percent: Optional[float] = Field(default=None, description="""Detector brightness setting.""")
    contrast_percent: Optional[float] = Field(default=None, description="""Detector contrast setting.""")
    acquired_at: Optional[datetime ] = Field(default=None, description="""Acquisition date and time as written by the instrument (local time, no zone).""")
    operator: Optional[str] = Field(default=None, description="""User name logged in at the instrument.""")


class Image(ConfiguredBaseModel):
    """
    One image, identified by the SHA-256 of its file.
    """
    sha256: str = Field(default=..., description="""SHA-256 of the file's bytes; the identity of the image.""")
    path: str = Field(default=..., description="""Absolute path of the file when it was first ingested.""")
    file_format: FileFormat = Field(default=..., description="""Container format of the file.""")
    size_bytes: Optional[int] = Field(default=None, description="""File size.""", ge=0)
    width_px: int = Field(default=..., description="""Width of the saved image.""", ge=1)
    height_px: int = Field(default=..., description="""Height of the saved image, including any data bar.""", ge=1)
    bit_depth: int = Field(default=..., description="""Bits per sample.""", ge=1)
    channels: int = Field(default=..., description="""Samples per pixel (1 grey, 3 RGB, 4 RGBA).""", ge=1)
    page_index: Optional[int] = Field(default=None, description="""Index of the page (IFD) the pixel data and metadata were read from.""", ge=0)
    page_count: Optional[int] = Field(default=None, description="""Number of pages in the file.""", ge=1)
    data_bar_height_px: Optional[int] = Field(default=None, description="""Rows of vendor data bar below the image proper; builders crop them.""", ge=0)
    extractor: str = Field(default=..., description="""Name of the extractor that read the file.""")
    extractor_version: str = Field(default=..., description="""Version of the extractor (fairmicro version for built-ins).""")
    vendor_metadata: Optional[str] = Field(default=None, description="""The raw vendor metadata block, as JSON.""")
    extraction_warnings: Optional[str] = Field(default=None, description="""Values present in the file that could not be parsed, as a JSON list of {slot, message}.""")
    instrument_id: Optional[str] = Field(default=None, description="""Instrument that acquired the image.""")
    specimen_id: Optional[str] = Field(default=None, description="""Specimen shown in the image.""")
    label: Optional[str] = Field(default=None, description="""Class label of the image (e.g. microconstituent).""")
    label_source: Optional[LabelSource] = Field(default=None, description="""Where the label came from.""")
    ingested_at: Optional[datetime ] = Field(default=None, description="""When the image was first added to the catalog (UTC).""")


class ImageFile(ConfiguredBaseModel):
    """
    A path at which an image's bytes were seen; renamed copies are several files of one image.
    """
    path: str = Field(default=..., description="""Absolute path of the file when it was first ingested.""")
    image_sha256: str = Field(default=..., description="""SHA-256 of the image file this record belongs to.""")
    size_bytes: Optional[int] = Field(default=None, description="""File size.""", ge=0)
    modified_at: Optional[datetime ] = Field(default=None, description="""File modification time when seen (UTC).""")
    last_seen_at: Optional[datetime ] = Field(default=None, description="""Last time an ingest saw the file at this path (UTC).""")


class FieldSource(ConfiguredBaseModel):
    """
    Where a normalised value came from, the per-field trail.
    """
    image_sha256: str = Field(default=..., description="""SHA-256 of the image file this record belongs to.""")
    slot_name: str = Field(default=..., description="""Name of the normalised slot.""")
    source_key: str = Field(default=..., description="""Vendor key the value was read from, e.g. \"EBeam/HV\" or \"ap_wd\".""")
    raw_value: Optional[str] = Field(default=None, description="""The raw value as found in the file, as text.""")
    conversion: Optional[str] = Field(default=None, description="""The conversion applied, e.g. \"V -> kV (x 0.001)\".""")


class Annotation(ConfiguredBaseModel):
    """
    A label, mask or review item attached to an image.
    """
    annotation_id: str = Field(default=..., description="""Id of the annotation.""")
    image_sha256: str = Field(default=..., description="""SHA-256 of the image file this record belongs to.""")
    annotation_kind: AnnotationKind = Field(default=..., description="""What the annotation is.""")
    label: Optional[str] = Field(default=None, description="""Class label of the image (e.g. microconstituent).""")
    label_source: Optional[LabelSource] = Field(default=None, description="""Where the label came from.""")
    confidence: Optional[float] = Field(default=None, description="""Model probability for a predicted label.""", ge=0, le=1)
    mask_path: Optional[str] = Field(default=None, description="""Path of a mask file for segmentation annotations.""")
    model_run_id: Optional[str] = Field(default=None, description="""Model run that produced a record, if any.""")
    created_at: Optional[datetime ] = Field(default=None, description="""When the record was created (UTC).""")
    created_by: Optional[str] = Field(default=None, description="""Person or run that created the record.""")
    mask_sha256: Optional[str] = Field(default=None, description="""SHA-256 of the mask file's bytes when it was paired with its image.""")
    mask_source: Optional[MaskSource] = Field(default=None, description="""Whether the mask was drawn by a person or predicted by a model run.""")
    mask_encoding: Optional[MaskEncoding] = Field(default=None, description="""Whether the mask file holds class values or class colours.""")
    mask_height_px: Optional[int] = Field(default=None, description="""Image rows the mask covers, from the top (a mask may be shorter than its image when the data bar was cropped from the mask only); rows below have no mask and are left out of training and scoring.""", ge=1)
    class_map_id: Optional[str] = Field(default=None, description="""Id of a mask class map (hash of its values, names and colours).""")


class MaskClass(ConfiguredBaseModel):
    """
    One class of a mask class map (value in the decoded label map, name, colour).
    """
    class_map_id: str = Field(default=..., description="""Id of a mask class map (hash of its values, names and colours).""")
    class_value: int = Field(default=..., description="""Pixel value of a class in a decoded mask label map.""", ge=0, le=254)
    class_name: str = Field(default=..., description="""Name of a mask class, e.g. \"oxide\".""")
    class_colour: Optional[str] = Field(default=None, description="""Colour of a mask class as \"#rrggbb\" (how colour-map masks draw it), if any.""")


class Dataset(ConfiguredBaseModel):
    """
    One build of a dataset from the catalog.
    """
    dataset_id: str = Field(default=..., description="""Id of a dataset build.""")
    name: Optional[str] = Field(default=None, description="""Human-readable name.""")
    fingerprint: Optional[str] = Field(default=None, description="""Hash of image hashes, labels, tiling and split settings; same inputs, same fingerprint.""")
    selection_sql: Optional[str] = Field(default=None, description="""SQL predicate over image_metadata that selected the images.""")
    parameters: Optional[str] = Field(default=None, description="""Parameters as a JSON object.""")
    counts: Optional[str] = Field(default=None, description="""Counts per split and class as a JSON object.""")
    output_path: Optional[str] = Field(default=None, description="""Folder the dataset was written to.""")
    fairmicro_version: Optional[str] = Field(default=None, description="""Version of fairmicro that wrote the record.""")
    created_at: Optional[datetime ] = Field(default=None, description="""When the record was created (UTC).""")


class DatasetImage(ConfiguredBaseModel):
    """
    Membership of an image in a dataset build, with its split.
    """
    dataset_id: str = Field(default=..., description="""Id of a dataset build.""")
    image_sha256: str = Field(default=..., description="""SHA-256 of the image file this record belongs to.""")
    split: Optional[str] = Field(default=None, description="""Dataset split used.""")
    tile_count: Optional[int] = Field(default=None, description="""Number of tiles (rows) an image contributed.""", ge=0)


class Publication(ConfiguredBaseModel):
    """
    One push of a dataset build to a Hugging Face Hub repository.
    """
    publication_id: str = Field(default=..., description="""Id of one publication of a dataset build.""")
    dataset_id: str = Field(default=..., description="""Id of a dataset build.""")
    fingerprint: Optional[str] = Field(default=None, description="""Hash of image hashes, labels, tiling and split settings; same inputs, same fingerprint.""")
    repo_id: Optional[str] = Field(default=None, description="""Hub repository id, e.g. \"my-lab/hcci-tiles\".""")
    revision_sha: Optional[str] = Field(default=None, description="""Commit sha of the Hub revision that holds the published files.""")
    tag: Optional[str] = Field(default=None, description="""Tag created on the Hub for this publication, e.g. \"v1.0\".""")
    endpoint: Optional[str] = Field(default=None, description="""Hub endpoint URL the dataset was published to.""")
    private: Optional[bool] = Field(default=None, description="""Whether the Hub repository is private.""")
    published_at: Optional[datetime ] = Field(default=None, description="""When the publication's commit was confirmed (UTC).""")


class ModelRun(ConfiguredBaseModel):
    """
    One train, evaluate or predict run of a model plugin, with its provenance.
    """
    run_id: str = Field(default=..., description="""Id of a model run.""")
    plugin: str = Field(default=..., description="""Model plugin name.""")
    plugin_version: Optional[str] = Field(default=None, description="""Model plugin version.""")
    parameters: Optional[str] = Field(default=None, description="""Parameters as a JSON object.""")
    dataset_ref: Optional[str] = Field(default=None, description="""What the run read; a Hub id, a local folder or a catalog dataset name.""")
    dataset_revision: Optional[str] = Field(default=None, description="""Hub revision sha or dataset fingerprint that was read.""")
    split: Optional[str] = Field(default=None, description="""Dataset split used.""")
    seed: Optional[int] = Field(default=None, description="""Random seed.""")
    metrics: Optional[str] = Field(default=None, description="""Metrics as a JSON object.""")
    artifacts: Optional[str] = Field(default=None, description="""Artifact paths with sha256, as JSON.""")
    library_versions: Optional[str] = Field(default=None, description="""Versions of the libraries used, as JSON.""")
    started_at: Optional[datetime ] = Field(default=None, description="""Start time (UTC).""")
    ended_at: Optional[datetime ] = Field(default=None, description="""End time (UTC).""")
    host: Optional[str] = Field(default=None, description="""Host name the run ran on.""")
    status: Optional[RunStatus] = Field(default=None, description="""Run status.""")
    run_kind: Optional[RunKind] = Field(default=None, description="""Whether the run trained, evaluated or predicted.""")
    parent_run_id: Optional[str] = Field(default=None, description="""The training run whose model an evaluate or predict run used.""")
    task: Optional[ModelTask] = Field(default=None, description="""The task of the run's model plugin (classification, segmentation, pretraining, zero-shot).""")


class Prediction(ConfiguredBaseModel):
    """
    A model's output for one image or tile in one run.
    """
    model_run_id: str = Field(default=..., description="""Model run that produced a record, if any.""")
    image_sha256: str = Field(default=..., description="""SHA-256 of the image file this record belongs to.""")
    tile_x_px: int = Field(default=..., description="""Column of a tile's left edge in the image after data-bar cropping.""", ge=0)
    tile_y_px: int = Field(default=..., description="""Row of a tile's top edge in the image after data-bar cropping.""", ge=0)
    split: Optional[str] = Field(default=None, description="""Dataset split used.""")
    true_label: Optional[str] = Field(default=None, description="""The label the dataset gives, when known.""")
    predicted_label: Optional[str] = Field(default=None, description="""The most probable class.""")
    confidence: Optional[float] = Field(default=None, description="""Model probability for a predicted label.""", ge=0, le=1)
    probabilities: Optional[str] = Field(default=None, description="""Probability of every class, as a JSON object.""")


class AssessmentSet(ConfiguredBaseModel):
    """
    A named set of expert assessments for the zero-shot qualifier (one YAML file).
    """
    name: str = Field(default=..., description="""Human-readable name.""")
    description: Optional[str] = Field(default=None, description="""What a set of assessments is for, in words.""")
    assessments: list[Assessment] = Field(default=..., description="""The assessments of an assessment set.""", min_length=1)


class Assessment(ConfiguredBaseModel):
    """
    One expert assessment (Safdar et al.) with its text prompts and reference images.
    """
    name: str = Field(default=..., description="""Human-readable name.""")
    criterion: Optional[str] = Field(default=None, description="""The expert's criterion in words, as the assessment set states it.""")
    positive_prompts: list[str] = Field(default=..., description="""Text prompts describing an image that meets the criterion (CLIP text side).""", min_length=1)
    negative_prompts: list[str] = Field(default=..., description="""Text prompts describing an image that fails the criterion (CLIP text side).""", min_length=1)
    positive_references: ReferenceImages = Field(default=..., description="""Reference images that meet the criterion (FLAVA image side).""")
    negative_references: ReferenceImages = Field(default=..., description="""Reference images that fail the criterion (FLAVA image side).""")


class ReferenceImages(ConfiguredBaseModel):
    """
    Reference images given as a catalog selection, as files, or both.
    """
    where: Optional[str] = Field(default=None, description="""SQL predicate over image_metadata selecting catalog images (run sandboxed, like --where).""")
    paths: Optional[list[str]] = Field(default=None, description="""Image files, absolute or relative to the assessment file's folder.""")


class Qualification(ConfiguredBaseModel):
    """
    One image scored against one expert assessment in one zero-shot qualifier run.
    """
    model_run_id: str = Field(default=..., description="""Model run that produced a record, if any.""")
    image_sha256: str = Field(default=..., description="""SHA-256 of the image file this record belongs to.""")
    path: Optional[str] = Field(default=None, description="""Path the image was read from.""")
    assessment: str = Field(default=..., description="""Name of an expert assessment (one criterion of an assessment set), e.g. \"porosity\".""")
    delta_clip: Optional[float] = Field(default=None, description="""cos(image, mean positive prompt) - cos(image, mean negative prompt), CLIP embeddings.""")
    delta_flava: Optional[float] = Field(default=None, description="""cos(image, mean positive reference) - cos(image, mean negative reference), FLAVA image embeddings.""")
    z_clip: Optional[float] = Field(default=None, description="""delta_clip standardised by the run's mean and population standard deviation for the assessment.""")
    z_flava: Optional[float] = Field(default=None, description="""delta_flava standardised by the run's mean and population standard deviation for the assessment.""")
    hybrid: Optional[float] = Field(default=None, description="""Fused score, z_clip + z_flava (or their weighted sum); at or above the threshold means accept.""")
    decision: Optional[QualifierDecision] = Field(default=None, description="""Whether the image meets the assessment.""")
    top_k: Optional[str] = Field(default=None, description="""The nearest reference images by FLAVA cosine, as a JSON list of {path, cosine}.""")


class ImageEmbedding(ConfiguredBaseModel):
    """
    A cached image embedding of one model, so re-scoring computes no embedding twice.
    """
    image_sha256: str = Field(default=..., description="""SHA-256 of the image file this record belongs to.""")
    model_id: str = Field(default=..., description="""Model id (Hub id or local folder) that computed an embedding.""")
    model_revision: str = Field(default=..., description="""Hub commit sha of the model, or sha256 of a local folder's files.""")
    preprocessing: str = Field(default=..., description="""How the image became model input (data bar crop, intensity scaling), so a changed recipe is not served from cache.""")
    embedding: str = Field(default=..., description="""The model's image embedding as a JSON list of numbers (not normalised).""")
    created_at: Optional[datetime ] = Field(default=None, description="""When the record was created (UTC).""")


# Model rebuild
# see https://pydantic-docs.helpmanual.io/usage/models/#rebuilding-a-model
Specimen.model_rebuild()
SpecimenColumn.model_rebuild()
Instrument.model_rebuild()
ImagingConditions.model_rebuild()
Image.model_rebuild()
ImageFile.model_rebuild()
FieldSource.model_rebuild()
Annotation.model_rebuild()
MaskClass.model_rebuild()
Dataset.model_rebuild()
DatasetImage.model_rebuild()
Publication.model_rebuild()
ModelRun.model_rebuild()
Prediction.model_rebuild()
AssessmentSet.model_rebuild()
Assessment.model_rebuild()
ReferenceImages.model_rebuild()
Qualification.model_rebuild()
ImageEmbedding.model_rebuild()
