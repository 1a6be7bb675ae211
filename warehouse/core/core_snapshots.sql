-- core.snapshots: the loaded snapshot deliveries of 民政 (mz) and 残联 (cl), in
-- order. Grain: one row per source and extract date. A snapshot at D says what
-- was true at D; every history interval starts and ends on one of these dates.
CREATE OR REPLACE TABLE core.snapshots AS
WITH loaded AS (
    SELECT DISTINCT source, extract_date
    FROM audit.deliveries
    WHERE status = 'loaded' AND source IN ('mz', 'cl')
)
SELECT
    source,
    extract_date,
    row_number() OVER w AS seq,                             -- 1 = the source's first snapshot (the baseline)
    lag(extract_date) OVER w AS prev_date,
    lead(extract_date) OVER w AS next_date,                 -- NULL for the latest
    date_trunc('month', extract_date)::DATE AS month,
    -- monthly marts use the last snapshot of each month
    lead(extract_date) OVER w IS NULL
        OR date_trunc('month', lead(extract_date) OVER w) > date_trunc('month', extract_date) AS is_month_latest
FROM loaded
WINDOW w AS (PARTITION BY source ORDER BY extract_date)
ORDER BY source, extract_date;
