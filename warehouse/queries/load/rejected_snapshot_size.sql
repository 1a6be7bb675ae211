-- The rows read of the latest delivery of snapshot file $stem (民政, 残联) rejected for its
-- size since the last one loaded and before $extract_date (pipelines/load/deliveries.py,
-- `_snapshot_size_errors`): a second snapshot of about that size confirms the change, which
-- is then a real one (a county added, a caseload cut), not one truncated or doubled export.
SELECT l.rows_read, l.extract_date FROM audit.load_ledger l
WHERE l.source = $source AND l.status = 'rejected' AND l.extract_date < $extract_date
  AND l.extract_date > $loaded_date
  AND lower(regexp_replace(l.file_name, '\.[^.]*$', '')) = $stem
  AND l.message LIKE '%rows loadable against%'
ORDER BY l.extract_date DESC, l.loaded_at DESC
LIMIT 1;
