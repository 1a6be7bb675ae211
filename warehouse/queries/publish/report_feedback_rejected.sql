-- Feedback files rejected since $1 and why, the latest first: a caseworker's results that did not arrive.
SELECT file_name, strftime(loaded_at, '%Y-%m-%d %H:%M') AS attempted, message
FROM audit.feedback_loads WHERE loaded_at >= $1 AND status = 'rejected'
ORDER BY loaded_at DESC LIMIT 50
