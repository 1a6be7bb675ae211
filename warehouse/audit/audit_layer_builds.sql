-- What each successful build of a model layer saw, so that the next night rebuilds the
-- month-grain marts only from the earliest month its deliveries can change
-- (pipelines/core/scope.py; docs/warehouse.md, "Month-scoped marts").
CREATE TABLE IF NOT EXISTS audit.layer_builds (
    layer       VARCHAR   NOT NULL,  -- mart
    run_id      VARCHAR   NOT NULL,  -- as in audit.model_runs
    scope       VARCHAR   NOT NULL,  -- full, months (the month-grain marts from months_from), unchanged
    reason      VARCHAR   NOT NULL,  -- why this scope (first build, asked for, a model changed, ...)
    months_from DATE,                -- the first month rebuilt; NULL when full or unchanged
    models      VARCHAR   NOT NULL,  -- sha256 over the core and mart model files and [monthly]
    parameters  VARCHAR,             -- sha256 over core.policy_parameters as built
    built_at    TIMESTAMP NOT NULL
);
-- The deliveries (load_id, status) the latest successful build of each layer saw.
CREATE TABLE IF NOT EXISTS audit.built_deliveries (
    layer   VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL,
    status  VARCHAR NOT NULL
);
