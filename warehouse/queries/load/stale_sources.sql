-- Sources whose newest attempted delivery did not load: (source, tried, good).
WITH last_try AS (
    SELECT source, max(extract_date) AS tried FROM audit.deliveries
    WHERE status IN ('loaded', 'rejected') GROUP BY source),
last_good AS (
    SELECT source, max(extract_date) AS good FROM audit.deliveries WHERE status = 'loaded' GROUP BY source)
SELECT t.source, t.tried, g.good FROM last_try t LEFT JOIN last_good g USING (source)
WHERE g.good IS NULL OR g.good < t.tried ORDER BY t.source
