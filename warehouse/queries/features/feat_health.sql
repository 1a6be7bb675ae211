-- Feature group health: members' 健康状况 as the latest mz snapshot on or before
-- $as_of recorded it (民政 learns of illness late, typically at a check).
-- Grain: one row per household of feature_population.
--   severely_ill         members recorded 重病
--   chronically_ill      members recorded 慢性病
--   illness_onset_6m     members recorded 重病 by a snapshot in the 6 months up to
--                        $as_of after an earlier snapshot recorded them otherwise
WITH current AS (
    SELECT m.*
    FROM core.members_asof($as_of) m
    JOIN feature_population h ON h.household_id = m.household_id
),
onsets AS (
    SELECT c.household_id, count(*) AS n
    FROM current c
    JOIN core.member_history prev
      ON prev.household_id = c.household_id AND prev.person_key = c.person_key AND prev.valid_to = c.valid_from
    WHERE c.health = '重病' AND prev.health <> '重病'
      AND c.valid_from > $as_of::DATE - INTERVAL 6 MONTH
    GROUP BY c.household_id
),
counts AS (
    SELECT
        household_id,
        count(*) FILTER (WHERE health = '重病') AS severely_ill,
        count(*) FILTER (WHERE health = '慢性病') AS chronically_ill
    FROM current
    GROUP BY household_id
)
SELECT
    h.household_id,
    coalesce(c.severely_ill, 0) AS severely_ill,
    coalesce(c.chronically_ill, 0) AS chronically_ill,
    coalesce(o.n, 0) AS illness_onset_6m
FROM feature_population h
LEFT JOIN counts c ON c.household_id = h.household_id
LEFT JOIN onsets o ON o.household_id = h.household_id
