-- Feature group disability: members' 残疾人证 as the latest cl snapshot on or
-- before $as_of showed them (core.certificates_asof), and 单人保 candidates.
-- Grain: one row per household of feature_population.
--   disabled_members        members holding a 有效 certificate
--   severe_disabled         of them, grade 一级 or 二级
--   best_grade_rank         most severe 有效 grade (1 = 一级 ... 4 = 四级; 5 = none)
--   disability_onset_6m     members whose first 有效 certificate, or a more severe
--                           one, was first seen in a cl snapshot in the 6 months up to $as_of
--   single_person_candidates adults (18+) with a 有效 一/二级 certificate and no
--                           employment on $as_of: no open 就业登记 and no 企业职工
--                           pension contribution (delivered by $as_of) for $as_of's month
--                           or the two before. The 单人保 test of outputs.md except
--                           that they are in an 在册 household: a 低保边缘 or low-income
--                           household's severely disabled member may be granted 低保 alone.
WITH held AS (
    SELECT m.household_id, m.person_key, m.age, min(c.grade_rank) AS grade_rank
    FROM feature_members m
    JOIN core.certificates_asof($as_of) c ON c.person_key = m.person_key
    WHERE c.cert_status = '有效'
    GROUP BY ALL
),
onsets AS (
    SELECT DISTINCT m.household_id, e.person_key
    FROM feature_members m
    JOIN core.change_events e ON e.person_key = m.person_key
    WHERE e.kind IN ('new_disability', 'disability_worsened')
      AND e.seen_date <= $as_of::DATE
      AND e.seen_date > $as_of::DATE - INTERVAL 6 MONTH
),
insured_workers AS (
    SELECT DISTINCT person_key
    FROM core.contributions
    WHERE insurance = '企业职工基本养老保险'
      AND month BETWEEN date_trunc('month', $as_of::DATE) - INTERVAL 2 MONTH AND date_trunc('month', $as_of::DATE)
      AND recorded_on <= $as_of::DATE
),
candidates AS (
    SELECT DISTINCT household_id, person_key
    FROM held
    WHERE grade_rank <= 2 AND age >= 18
      AND person_key NOT IN (SELECT person_key FROM core.open_registrations($as_of, '就业登记'))
      AND person_key NOT IN (SELECT person_key FROM insured_workers)
),
per_household AS (
    SELECT
        household_id,
        count(DISTINCT person_key) AS disabled_members,
        count(DISTINCT person_key) FILTER (WHERE grade_rank <= 2) AS severe_disabled,
        min(grade_rank) AS best_grade_rank
    FROM held
    GROUP BY household_id
)
SELECT
    h.household_id,
    coalesce(p.disabled_members, 0) AS disabled_members,
    coalesce(p.severe_disabled, 0) AS severe_disabled,
    coalesce(p.best_grade_rank, 5) AS best_grade_rank,
    (SELECT count(*) FROM onsets o WHERE o.household_id = h.household_id) AS disability_onset_6m,
    (SELECT count(*) FROM candidates c WHERE c.household_id = h.household_id) AS single_person_candidates
FROM feature_population h
LEFT JOIN per_household p ON p.household_id = h.household_id
