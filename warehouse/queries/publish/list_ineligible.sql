-- Per household, the latest $ineligible finding about an earlier list within the quiet period, the level it was checked at, and whether anything changed since.
WITH findings AS (
    SELECT household_id, check_date, list_as_of_date
    FROM staging.feedback
    WHERE result = $ineligible AND check_date > $as_of::DATE - $quiet_days::INTEGER AND list_as_of_date < $as_of
    QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY check_date DESC, loaded_at DESC) = 1
),
events AS (
    SELECT household_id, seen_date FROM core.change_events WHERE household_id IS NOT NULL
    UNION ALL
    SELECT m.household_id, e.seen_date
    FROM core.change_events e
    JOIN core.members_asof($as_of) m ON m.person_key = e.person_key
    WHERE e.household_id IS NULL
)
SELECT
    f.household_id,
    f.check_date,
    l.risk_level AS checked_level,
    EXISTS (SELECT 1 FROM events e
            WHERE e.household_id = f.household_id AND e.seen_date > f.check_date
              AND e.seen_date <= $as_of) AS changed_since
FROM findings f
LEFT JOIN mart.listed_households l ON l.household_id = f.household_id AND l.as_of_date = f.list_as_of_date
