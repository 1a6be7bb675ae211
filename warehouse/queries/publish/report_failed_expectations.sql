-- The 20 worst failed expectations of the deliveries $1 (table-level first, then by cells failing).
SELECT source, file_name, expectation, column_name, level, unexpected_count, element_count
FROM audit.dq_results WHERE list_contains($1, load_id) AND NOT success
ORDER BY level = 'table' DESC, unexpected_count DESC NULLS LAST LIMIT 20
