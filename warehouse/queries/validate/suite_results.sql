-- Every expectation of a suite over one staged table in one pass (pipelines/validate/run_sql.py).
-- {table}: the staged table; {windows}: window columns some checks read (", count(*) OVER ..." or "");
-- {measures}: the compiled expressions (pipelines/validate/compile.py), ", <expr> AS e<i>_<what>" each.
WITH batch AS (SELECT *{windows} FROM {table})
SELECT count(*) AS element_count{measures}
FROM batch
