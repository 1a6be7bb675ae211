-- Members of the feature population on $as_of, as the latest mz snapshot on or
-- before $as_of listed them, with what the 身份证号 tells (birth date, sex).
-- The household head counts as a member even when no members row lists them.
-- Grain: one row per household and person. Kept as the temp table
-- feature_members, which the feature groups read.
WITH listed AS (
    SELECT m.household_id, m.person_key, m.relation, m.work_ability, m.health, m.student
    FROM core.members_asof($as_of) m
    JOIN feature_population h ON h.household_id = m.household_id
),
unlisted_heads AS (
    SELECT h.household_id, h.head_key AS person_key, '本人' AS relation,
           NULL AS work_ability, NULL AS health, NULL AS student
    FROM feature_population h
    WHERE NOT EXISTS (
        SELECT 1 FROM listed l WHERE l.household_id = h.household_id AND l.person_key = h.head_key)
)
SELECT
    m.*,
    p.birth_date,
    date_sub('year', p.birth_date, $as_of::DATE) AS age,    -- whole years on $as_of
    p.sex
FROM (SELECT * FROM listed UNION ALL SELECT * FROM unlisted_heads) m
LEFT JOIN core.persons p ON p.person_key = m.person_key
