-- Feedback files attempted since $1: files read (a file skipped as a duplicate is not one), rows loaded,
-- rows quarantined, files rejected, files skipped as duplicates, and of the rows loaded those that repeat
-- an answer an earlier file gave (same key, result, date and note: a returned list saved and sent again).
WITH answers AS (
    SELECT load_id, household_id AS answer_key, result, check_date, note, loaded_at FROM staging.feedback
    UNION ALL
    SELECT load_id, candidate_ref, result, check_date, note, loaded_at FROM staging.feedback_candidates
),
repeated AS (
    SELECT count(*) AS n FROM answers a
    WHERE a.loaded_at >= $1 AND EXISTS (
        SELECT 1 FROM answers e
        WHERE e.answer_key = a.answer_key AND e.result = a.result AND e.check_date = a.check_date
          AND e.note IS NOT DISTINCT FROM a.note AND e.load_id <> a.load_id
          AND (e.loaded_at, e.load_id) < (a.loaded_at, a.load_id))
)
SELECT count(*) FILTER (WHERE status <> 'skipped_duplicate'), coalesce(sum(rows_loaded), 0),
       coalesce(sum(rows_quarantined), 0), count(*) FILTER (WHERE status = 'rejected'),
       count(*) FILTER (WHERE status = 'skipped_duplicate'), any_value(repeated.n)
FROM audit.feedback_loads, repeated WHERE loaded_at >= $1
