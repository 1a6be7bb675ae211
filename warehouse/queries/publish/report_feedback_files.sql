-- Feedback files attempted since $1: files read (a file skipped as a duplicate is not one), rows loaded,
-- rows quarantined, files rejected, files skipped as duplicates.
SELECT count(*) FILTER (WHERE status <> 'skipped_duplicate'), coalesce(sum(rows_loaded), 0),
       coalesce(sum(rows_quarantined), 0), count(*) FILTER (WHERE status = 'rejected'),
       count(*) FILTER (WHERE status = 'skipped_duplicate')
FROM audit.feedback_loads WHERE loaded_at >= $1
