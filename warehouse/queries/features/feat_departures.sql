-- Feature group departures: members who died or left, and who joined, as mz
-- snapshots on or before $as_of showed it (core.change_events first seen by
-- then). Grain: one row per household of feature_population.
--   members_left_6m      member_died_or_left first seen in the 6 months up to $as_of
--   members_added_6m     member_added first seen in the 6 months up to $as_of
--   roster_change_6m     member rows now minus member rows in the snapshot 6 months
--                        earlier (0 when the household was not listed then)
WITH recent AS (
    SELECT
        household_id,
        count(*) FILTER (WHERE kind = 'member_died_or_left') AS members_left_6m,
        count(*) FILTER (WHERE kind = 'member_added') AS members_added_6m
    FROM core.change_events
    WHERE kind IN ('member_died_or_left', 'member_added')
      AND seen_date <= $as_of::DATE
      AND seen_date > $as_of::DATE - INTERVAL 6 MONTH
      AND household_id IN (SELECT household_id FROM feature_population)
    GROUP BY household_id
),
now AS (
    SELECT household_id, count(*) AS n
    FROM core.members_asof($as_of)
    WHERE household_id IN (SELECT household_id FROM feature_population)
    GROUP BY household_id
),
before AS (
    SELECT household_id, count(*) AS n
    FROM core.members_asof(($as_of::DATE - INTERVAL 6 MONTH)::DATE)
    WHERE household_id IN (SELECT household_id FROM feature_population)
    GROUP BY household_id
)
SELECT
    h.household_id,
    coalesce(r.members_left_6m, 0) AS members_left_6m,
    coalesce(r.members_added_6m, 0) AS members_added_6m,
    CASE WHEN b.n IS NULL THEN 0 ELSE coalesce(n.n, 0) - b.n END AS roster_change_6m
FROM feature_population h
LEFT JOIN recent r ON r.household_id = h.household_id
LEFT JOIN now n ON n.household_id = h.household_id
LEFT JOIN before b ON b.household_id = h.household_id
