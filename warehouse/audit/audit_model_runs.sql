-- One row per model built by the nightly core and mart builds
-- (pipelines.warehouse.build_models): what was built, how big, how long.
CREATE TABLE IF NOT EXISTS audit.model_runs (
    run_id   VARCHAR   NOT NULL,  -- one id per layer build: <layer>-<12 hex>
    layer    VARCHAR   NOT NULL,  -- core, mart (40_core, 50_mart before issue #16)
    name     VARCHAR   NOT NULL,  -- <schema>.<object>
    kind     VARCHAR   NOT NULL,  -- table, view, macro (unknown for a model that failed)
    rows     BIGINT,              -- rows after the build; NULL for views and macros
    seconds  DOUBLE    NOT NULL,  -- wall time of the model's statement
    status   VARCHAR   NOT NULL,  -- built, failed
    message  VARCHAR,             -- first line of the error when failed
    built_at TIMESTAMP NOT NULL
);
