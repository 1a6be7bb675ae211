-- Feedback files loaded since $1: files, rows loaded, rows quarantined, files rejected.
SELECT count(*), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0),
       count(*) FILTER (WHERE status = 'rejected')
FROM audit.feedback_loads WHERE loaded_at >= $1
