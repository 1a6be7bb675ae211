-- This run's deliveries ($1: their load ids), one row each: source, date, file, status, rows read/loaded/quarantined/repaired, message.
SELECT source, extract_date, file_name, status, rows_read, rows_loaded, rows_quarantined,
       coalesce(rows_repaired, 0), message
FROM audit.load_ledger WHERE list_contains($1, load_id)
ORDER BY extract_date, source, file_name
