-- The 20 worst failed checks of the deliveries $1, one row per check however many files it failed in
-- (table-level first, then by cells failing): source, files, expectation, column, level, file count, sums.
SELECT source, string_agg(DISTINCT file_name, '、' ORDER BY file_name), expectation, column_name, level,
       count(*), sum(unexpected_count), sum(element_count)
FROM audit.dq_results WHERE list_contains($1, load_id) AND NOT success
GROUP BY source, expectation, column_name, level
ORDER BY level = 'table' DESC, sum(unexpected_count) DESC NULLS LAST, source, expectation LIMIT 20
