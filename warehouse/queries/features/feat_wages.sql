-- Feature group wages: income implied by 人社 contribution bases (a wage proxy),
-- now and at the last income check, as delivered by $as_of. Only 企业职工基本养老保险
-- bases count as wages (城乡居民 bases are a chosen tier, not income).
-- Grain: one row per household of feature_population.
--   wage_earners          members with a base in the 3 months up to $as_of's month
--                         whose job has not ended since: no 就业登记注销 (known by
--                         $as_of) dated in or after the last month paid, unless a
--                         later 就业登记 started a new job
--   wage_income_ratio     those members' bases per member / the 低保 standard
--   stopped_contributing  members who paid 3-5 months before $as_of's month but
--                         have no current wage (job lost, or contributions ended)
--   wage_change_ratio     (wages now - wages at the last check) per member / the standard
--   income_estimate_ratio the last check's income moved by that wage change:
--                         (check income x members then - wages then + wages now)
--                         / members now / the standard, at least 0. NULL when never
--                         checked.
-- Wages at the check: the members then (the latest snapshot on or before
-- 核对日期, else today's) and their bases for the check's month; where 人社 data
-- does not reach back that far, the base of each job registered as held on
-- 核对日期 (its earliest known base). Contributions come from staging as
-- delivered by $as_of (a later corrected copy of a month is not seen before it
-- arrives), so nothing delivered after $as_of is used.
WITH months AS (
    SELECT date_trunc('month', $as_of::DATE)::DATE AS this_month
),
check_members AS (
    -- members on the check date, when an mz snapshot on or before it exists
    SELECT h.household_id, m.person_key
    FROM feature_population h
    JOIN core.member_history m
      ON m.household_id = h.household_id
     AND m.valid_from <= h.check_date AND (m.valid_to IS NULL OR m.valid_to > h.check_date)
),
check_roster AS (
    SELECT household_id, count(*) AS members_then FROM check_members GROUP BY household_id
),
check_people AS (
    SELECT household_id, person_key FROM check_members
    UNION
    SELECT m.household_id, m.person_key
    FROM feature_members m
    WHERE m.household_id NOT IN (SELECT household_id FROM check_roster)
),
people AS (
    SELECT DISTINCT p.person_key, i.id_number
    FROM (SELECT person_key FROM feature_members UNION SELECT person_key FROM check_people) p
    JOIN restricted.person_identity i ON i.person_key = p.person_key
),
delivered AS (
    SELECT contrib_month
    FROM staging.rs_contributions
    WHERE extract_date <= $as_of::DATE AND insurance = '企业职工基本养老保险'
),
coverage AS (
    SELECT strptime(min(contrib_month), '%Y%m')::DATE AS first_month FROM delivered
),
paid AS (
    -- one base per person and month: the latest copy delivered by $as_of
    SELECT
        p.person_key,
        strptime(c.contrib_month, '%Y%m')::DATE AS month,
        arg_max(c.contrib_base, (c.extract_date, c.line_number))::DOUBLE AS base
    FROM staging.rs_contributions c
    JOIN people p ON p.id_number = c.person_id
    WHERE c.extract_date <= $as_of::DATE AND c.insurance = '企业职工基本养老保险'
      AND strptime(c.contrib_month, '%Y%m')::DATE <= $as_of::DATE
    GROUP BY ALL
),
job_ends AS (
    SELECT person_key, reg_date
    FROM core.registrations
    WHERE reg_type = '就业登记注销' AND reg_date <= $as_of::DATE AND recorded_on <= $as_of::DATE
),
job_starts AS (
    SELECT person_key, reg_date
    FROM core.registrations
    WHERE reg_type = '就业登记' AND reg_date <= $as_of::DATE AND recorded_on <= $as_of::DATE
),
latest_paid AS (
    SELECT
        pd.person_key,
        max(pd.month) AS month,
        arg_max(pd.base, pd.month) AS base
    FROM paid pd, months
    WHERE pd.month >= months.this_month - INTERVAL 2 MONTH
    GROUP BY pd.person_key
),
current_wage AS (
    SELECT lp.person_key, lp.base
    FROM latest_paid lp
    WHERE NOT EXISTS (
        SELECT 1 FROM job_ends e
        WHERE e.person_key = lp.person_key AND e.reg_date >= lp.month
          AND NOT EXISTS (
              SELECT 1 FROM job_starts s WHERE s.person_key = e.person_key AND s.reg_date > e.reg_date))
),
earlier_payers AS (
    SELECT DISTINCT pd.person_key
    FROM paid pd, months
    WHERE pd.month BETWEEN months.this_month - INTERVAL 5 MONTH AND months.this_month - INTERVAL 3 MONTH
),
wages_now AS (
    SELECT
        m.household_id,
        count(w.person_key) AS wage_earners,
        coalesce(sum(w.base), 0) AS wages,
        count(*) FILTER (WHERE e.person_key IS NOT NULL AND w.person_key IS NULL) AS stopped_contributing
    FROM feature_members m
    LEFT JOIN current_wage w ON w.person_key = m.person_key
    LEFT JOIN earlier_payers e ON e.person_key = m.person_key
    GROUP BY m.household_id
),
held_jobs AS (
    -- jobs registered as held on the check date (for checks before the data's first month)
    SELECT cp.household_id, s.person_key, s.started
    FROM check_people cp
    JOIN feature_population h ON h.household_id = cp.household_id
    JOIN core.employment_spells s ON s.person_key = cp.person_key
    WHERE s.started <= h.check_date AND s.start_recorded_on <= $as_of::DATE
      AND NOT EXISTS (
          SELECT 1 FROM job_ends e
          WHERE e.person_key = s.person_key AND e.reg_date > s.started AND e.reg_date <= h.check_date)
),
job_base AS (
    SELECT person_key, arg_min(base, month) AS base FROM paid GROUP BY person_key
),
wages_then AS (
    SELECT
        h.household_id,
        CASE
            WHEN h.check_date IS NULL OR cv.first_month IS NULL THEN NULL
            WHEN date_trunc('month', h.check_date) >= cv.first_month THEN (
                SELECT coalesce(sum(pd.base), 0)
                FROM check_people cp
                JOIN paid pd ON pd.person_key = cp.person_key
                WHERE cp.household_id = h.household_id AND pd.month = date_trunc('month', h.check_date))
            ELSE (
                SELECT coalesce(sum(jb.base), 0)
                FROM (SELECT DISTINCT household_id, person_key FROM held_jobs) hj
                JOIN job_base jb ON jb.person_key = hj.person_key
                WHERE hj.household_id = h.household_id)
        END AS wages
    FROM feature_population h, coverage cv
),
sized AS (
    SELECT
        h.household_id,
        h.dibao_standard,
        h.income_per_capita::DOUBLE AS check_income,
        greatest(coalesce(f.members, h.household_size), 1) AS members_now,
        greatest(coalesce(r.members_then, f.members, h.household_size), 1) AS members_then
    FROM feature_population h
    LEFT JOIN (SELECT household_id, count(*) AS members FROM feature_members GROUP BY household_id) f
      ON f.household_id = h.household_id
    LEFT JOIN check_roster r ON r.household_id = h.household_id
)
SELECT
    s.household_id,
    coalesce(n.wage_earners, 0) AS wage_earners,
    coalesce(n.wages, 0) / s.members_now / s.dibao_standard AS wage_income_ratio,
    coalesce(n.stopped_contributing, 0) AS stopped_contributing,
    (coalesce(n.wages, 0) - t.wages) / s.members_now / s.dibao_standard AS wage_change_ratio,
    greatest(s.check_income * s.members_then - t.wages + coalesce(n.wages, 0), 0) / s.members_now / s.dibao_standard
        AS income_estimate_ratio
FROM sized s
LEFT JOIN wages_now n ON n.household_id = s.household_id
LEFT JOIN wages_then t ON t.household_id = s.household_id
