-- Every expectation of a suite over one staged table in one query (pipelines/validate/run_sql.py).
-- {table}: the staged table; {windows}: window columns some checks read (", count(*) OVER ..." or "");
-- {measures}: compiled aggregates over batch (pipelines/validate/compile.py), ", <expr> AS e<i>_<what>" each;
-- {ctes}/{joins}: one-row CTEs of the suite's own queries (", e<i>_n AS (...)") and their names.
-- One-row CTEs cross-joined plan far faster in DuckDB than the same scalar subqueries in the select list.
WITH batch AS (SELECT *{windows} FROM {table}),
counts AS (SELECT count(*) AS element_count{measures} FROM batch){ctes}
SELECT * FROM counts{joins}
