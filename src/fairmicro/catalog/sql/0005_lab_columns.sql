-- 0005: lab columns of specimen tables as typed columns of image_metadata (schema v0.1.0).
-- The flat view of 0002 becomes image_metadata_core; image_metadata selects from it and
-- is re-created by Catalog.refresh_image_metadata() after each specimen table, with one
-- typed column per row of specimen_columns.
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
COMMENT ON COLUMN specimens.attributes IS 'Further columns of the specimen table (lab columns), as a JSON object keyed by column_name; each is also a typed column of image_metadata (see specimen_columns).';

ALTER VIEW image_metadata RENAME TO image_metadata_core;
CREATE VIEW image_metadata AS SELECT * FROM image_metadata_core;
COMMENT ON VIEW image_metadata IS 'One row per image: file facts, instrument, imaging conditions (units in column names), specimen and label, then the lab columns of specimen tables. See docs/catalog.md.';
