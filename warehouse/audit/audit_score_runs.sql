-- One row per nightly scoring (pipelines.score.risk_list): which list it wrote, or that
-- the list already written was kept because nothing that decides it had changed
-- (pipelines/score/inputs.py: a quiet night between monthly deliveries).
CREATE TABLE IF NOT EXISTS audit.score_runs (
    as_of_date    DATE      NOT NULL,  -- the scoring date (core.scoring_date())
    model_version VARCHAR   NOT NULL,  -- the registry entry in force
    inputs        VARCHAR   NOT NULL,  -- sha256 over what decides the list (pipelines/score/inputs.py)
    households    INTEGER   NOT NULL,  -- rows of mart.risk_list for as_of_date
    status        VARCHAR   NOT NULL,  -- scored; unchanged (the rows already written were kept);
                                       -- updated (only the households whose features changed rescored)
    run_at        TIMESTAMP NOT NULL
);
-- Added with partial rescoring (pipelines/score/rescore.py): the digest of how the list is made
-- (date, model, settings, code: pipelines/score/inputs.py::method_digest), and the households
-- that went through the model (all of them when scored, none when unchanged).
ALTER TABLE audit.score_runs ADD COLUMN IF NOT EXISTS method VARCHAR;
ALTER TABLE audit.score_runs ADD COLUMN IF NOT EXISTS rescored INTEGER;
