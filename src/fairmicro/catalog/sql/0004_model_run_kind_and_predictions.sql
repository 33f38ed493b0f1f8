-- 0004: model-run kind and parent, and per-image/tile predictions (schema v0.1.0).
-- DuckDB cannot add a column with a CHECK constraint; run_kind is validated by the
-- generated pydantic model before it is written.
ALTER TABLE model_runs ADD COLUMN run_kind VARCHAR;
ALTER TABLE model_runs ADD COLUMN parent_run_id VARCHAR;
COMMENT ON COLUMN model_runs.run_kind IS 'Whether the run trained, evaluated or predicted.';
COMMENT ON COLUMN model_runs.parent_run_id IS 'The training run whose model an evaluate or predict run used.';

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

