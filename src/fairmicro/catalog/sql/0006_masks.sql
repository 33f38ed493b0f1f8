-- 0006: segmentation masks as annotations, their class maps, and the image_masks view (schema v0.1.0).
-- DuckDB cannot add a column with a CHECK constraint; mask_source and mask_encoding are
-- validated by the generated pydantic model before they are written.
ALTER TABLE annotations ADD COLUMN mask_sha256 VARCHAR;
ALTER TABLE annotations ADD COLUMN mask_source VARCHAR;
ALTER TABLE annotations ADD COLUMN mask_encoding VARCHAR;
ALTER TABLE annotations ADD COLUMN mask_height_px BIGINT;
ALTER TABLE annotations ADD COLUMN class_map_id VARCHAR;
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

CREATE VIEW image_masks AS
SELECT
    a.annotation_id,
    a.image_sha256,
    i.path AS image_path,
    i.width_px,
    i.height_px,
    a.mask_path,
    a.mask_sha256,
    a.mask_source,
    a.mask_encoding,
    a.mask_height_px,
    a.class_map_id,
    (SELECT list(c.class_name ORDER BY c.class_value) FROM mask_classes c WHERE c.class_map_id = a.class_map_id)
        AS class_names,
    a.model_run_id,
    a.created_at,
    a.created_by
FROM annotations a JOIN images i ON i.sha256 = a.image_sha256
WHERE a.annotation_kind = 'mask';
COMMENT ON VIEW image_masks IS 'One row per mask annotation: the image, the mask file and its sha256, manual or predicted (with its model run), rows covered and the class names by value. See docs/catalog.md.';
