-- 0007: the task of a model run (schema v0.1.0). run_kind gains 'pretrain' (validated by
-- the generated pydantic model; DuckDB cannot add a column with a CHECK constraint).
ALTER TABLE model_runs ADD COLUMN task VARCHAR;
COMMENT ON COLUMN model_runs.task IS 'The task of the run''s model plugin (classification, segmentation, pretraining, zero-shot).';
