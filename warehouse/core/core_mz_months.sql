-- core.mz_months: the calendar months the monthly marts have a row for, each with the 民政
-- snapshot its figures come from. Grain: one row per month from the first loaded mz snapshot's
-- month to the latest's. A month's snapshot is its last loaded one; a month whose delivery
-- never loaded (rejected, never sent) carries the snapshot before it (carried = true), as
-- as-of queries do, so that a year's sum of the monthly funds has all its months.
CREATE OR REPLACE TABLE core.mz_months AS
WITH latest AS (
    SELECT month, extract_date FROM core.snapshots WHERE source = 'mz' AND is_month_latest
),
spine AS (
    SELECT unnest(generate_series(min(month), max(month), INTERVAL 1 MONTH))::DATE AS month FROM latest
)
SELECT
    s.month,
    max(l.extract_date) AS extract_date,
    max(l.month) < s.month AS carried,
    -- the day the month's standards and subsidies are priced on and its 残联 state read: the
    -- snapshot's date, or a carried month's last day (its state is older, its standard its own)
    CASE WHEN max(l.month) < s.month THEN last_day(s.month) ELSE max(l.extract_date) END AS as_of
FROM spine s
JOIN latest l ON l.month <= s.month
GROUP BY s.month
ORDER BY s.month;
