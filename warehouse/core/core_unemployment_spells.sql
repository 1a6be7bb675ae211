-- core.unemployment_spells: periods of registered unemployment from 人社 events.
-- Grain: one row per 失业登记. A spell starts on the 登记日期 of a 失业登记 and
-- ends on the first 失业登记注销 dated strictly later; ended NULL = still open.
-- Registered unemployed on day D: started <= D AND (ended IS NULL OR ended > D).
CREATE OR REPLACE TABLE core.unemployment_spells AS
WITH events AS (
    SELECT *, reg_type = '失业登记注销' AS is_end
    FROM core.registrations
    WHERE reg_type IN ('失业登记', '失业登记注销')
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
    reg_date AS started,
    closing.ended AS ended,
    recorded_on AS start_recorded_on,
    closing.recorded_on AS end_recorded_on,
    division_code
FROM paired
WHERE NOT is_end
ORDER BY person_key, started;
