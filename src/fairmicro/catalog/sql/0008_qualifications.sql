-- 0008: zero-shot qualifier results and the image-embedding cache (schema v0.1.0).
-- run_kind gains 'qualify' (validated by the generated pydantic model; DuckDB cannot add a CHECK to a column).
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
