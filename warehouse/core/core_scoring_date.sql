-- core.scoring_date(): the date discovery and risk scoring are computed for:
-- the extract date of the latest loaded mz snapshot (outputs.md). NULL before
-- any mz delivery has loaded.
CREATE OR REPLACE MACRO core.scoring_date() AS (
    SELECT max(extract_date) FROM core.snapshots WHERE source = 'mz'
);
