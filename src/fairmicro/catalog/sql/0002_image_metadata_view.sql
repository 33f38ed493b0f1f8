-- 0002: the documented flat view, one row per image (docs/catalog.md).
-- Star expansions are bound at query time, so slots added to the schema later
-- appear here without a new migration.
CREATE VIEW image_metadata AS
SELECT
    i.sha256,
    i.path,
    i.file_format,
    i.size_bytes,
    i.width_px,
    i.height_px,
    i.bit_depth,
    i.channels,
    i.page_index,
    i.page_count,
    i.data_bar_height_px,
    ins.vendor,
    ins.instrument_model,
    ins.instrument_serial,
    c.* EXCLUDE (image_sha256),
    i.specimen_id,
    i.label,
    i.label_source,
    s.* EXCLUDE (specimen_id, attributes),
    s.attributes AS specimen_attributes,
    i.extractor,
    i.extractor_version,
    i.extraction_warnings,
    i.ingested_at
FROM images AS i
LEFT JOIN imaging_conditions AS c ON c.image_sha256 = i.sha256
LEFT JOIN instruments AS ins ON ins.instrument_id = i.instrument_id
LEFT JOIN specimens AS s ON s.specimen_id = i.specimen_id;
COMMENT ON VIEW image_metadata IS 'One row per image: file facts, instrument, imaging conditions (units in column names), specimen and label. See docs/catalog.md.';
