-- Every cell the failed row-level expectations flagged: k (the expectation's position in the
-- failed list), _line, raw_value. {selects}: one "SELECT k, _line, raw_value FROM ..." per
-- expectation joined by UNION ALL (pipelines/validate/run_sql.py).
WITH batch AS (SELECT *{windows} FROM {table})
SELECT k, _line, raw_value FROM ({selects})
ORDER BY k, _line
