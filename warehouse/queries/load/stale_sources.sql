-- Sources later steps read old data of: (source, tried, good, mz_latest).
-- tried not NULL: the newest attempted delivery did not load (rejected).
-- tried NULL: 残联 or 人社 has loaded nothing for the month of 民政's latest snapshot, the month
-- the scores and the 单人保 list are for (stopped delivering, or a folder still without _READY):
-- it was silent, and the 单人保 evidence spoke of months 人社 never sent (the fifth audit).
WITH last_try AS (
    SELECT source, max(extract_date) AS tried FROM audit.deliveries
    WHERE status IN ('loaded', 'rejected') GROUP BY source),
last_good AS (
    SELECT source, max(extract_date) AS good FROM audit.deliveries WHERE status = 'loaded' GROUP BY source),
mz AS (
    SELECT max(good) AS latest FROM last_good WHERE source = 'mz'),
rejected AS (
    SELECT t.source, t.tried, g.good FROM last_try t LEFT JOIN last_good g USING (source)
    WHERE g.good IS NULL OR g.good < t.tried)
SELECT r.source, r.tried, r.good, m.latest FROM rejected r, mz m
UNION ALL
SELECT s.source, NULL, g.good, m.latest
FROM (VALUES ('cl'), ('rs')) s(source) LEFT JOIN last_good g USING (source), mz m
WHERE m.latest IS NOT NULL AND s.source NOT IN (SELECT source FROM rejected)
  AND (g.good IS NULL OR date_trunc('month', g.good) < date_trunc('month', m.latest))
ORDER BY 1
