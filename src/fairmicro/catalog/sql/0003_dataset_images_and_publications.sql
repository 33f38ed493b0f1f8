-- 0003: which images each dataset build holds, and every Hub publication (schema v0.1.0)
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
