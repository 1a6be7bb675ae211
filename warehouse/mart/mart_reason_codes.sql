-- mart.reason_codes: the code table of mart.risk_list.reasons, so officials can
-- join it (models/reason_codes.yaml is the source; every scoring run rewrites
-- this table from it). Grain: one row per code. Codes are stable: a code keeps
-- its meaning as long as lists carrying it are kept.
--   kind       rule: a hard rule flag, listed whenever it holds;
--              model: a group of model features, listed by its contribution;
--              note: why a row has neither (N_NO_RISK_FACTOR)
--   features   the feature columns the code is about (warehouse/features/feat_*.sql)
--   condition  for a rule: the test on the feature, as text
CREATE TABLE IF NOT EXISTS mart.reason_codes (
    code      VARCHAR PRIMARY KEY,
    kind      VARCHAR NOT NULL,
    text_zh   VARCHAR NOT NULL,
    text_en   VARCHAR NOT NULL,
    features  VARCHAR[] NOT NULL,
    condition VARCHAR
);
-- A warehouse made before 'note' existed has a CHECK that refuses it; DuckDB cannot
-- alter a CHECK, so the table is rebuilt with its rows (the same on a new warehouse).
CREATE TEMP TABLE reason_codes_kept AS SELECT * FROM mart.reason_codes;
DROP TABLE mart.reason_codes;
CREATE TABLE mart.reason_codes (
    code      VARCHAR PRIMARY KEY,
    kind      VARCHAR NOT NULL CHECK (kind IN ('rule', 'model', 'note')),
    text_zh   VARCHAR NOT NULL,
    text_en   VARCHAR NOT NULL,
    features  VARCHAR[] NOT NULL,
    condition VARCHAR
);
INSERT INTO mart.reason_codes SELECT * FROM reason_codes_kept;
DROP TABLE reason_codes_kept;
