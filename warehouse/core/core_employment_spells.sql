-- core.employment_spells: periods of registered employment from 人社 events.
-- Grain: one row per 就业登记. A spell starts on the 登记日期 of a 就业登记 and
-- ends on the first 就业登记注销 dated strictly later (any employer: outputs.md
-- says a later 注销 closes a 就业登记); ended NULL = still open.
-- Employed on day D: started <= D AND (ended IS NULL OR ended > D).
-- A 注销 with no earlier 就业登记 in the data closes nothing and makes no spell.
CREATE OR REPLACE TABLE core.employment_spells AS
WITH events AS (
    SELECT *, reg_type = '就业登记注销' AS is_end
    FROM core.registrations
    WHERE reg_type IN ('就业登记', '就业登记注销')
),
paired AS (
    SELECT
        *,
        -- on a tie the 注销 sorts first, so it cannot close a 登记 of the same day
        first_value(CASE WHEN is_end THEN {'ended': reg_date, 'recorded_on': recorded_on} END IGNORE NULLS)
            OVER (PARTITION BY person_key ORDER BY reg_date, is_end DESC
                  ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS closing
    FROM events
)
SELECT
    person_key,
    masked_id,
    employer,
    reg_date AS started,
    closing.ended AS ended,
    recorded_on AS start_recorded_on,
    closing.recorded_on AS end_recorded_on,
    division_code
FROM paired
WHERE NOT is_end
ORDER BY person_key, started;
