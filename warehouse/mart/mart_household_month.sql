-- mart.household_month: each monitored household, month by month.
-- Grain: one row per household per month in whose last mz snapshot (or, for a
-- month whose delivery never loaded, the one before) it was listed (退出
-- households too, while the snapshot keeps them).
-- Income two ways: the per-capita income of the last 家庭经济状况核对, and the
-- income implied by what 人社 records for the members this month (the sum of
-- their 企业职工基本养老保险 contribution bases, a wage proxy, per member), both
-- against the 低保 standard in force on the snapshot date. Contributions may
-- arrive up to two deliveries late, so the latest months can still grow.
-- changes = kinds of core.change_events of the household or its members first
-- seen this month. row_quarantined: this snapshot's row for the household was
-- quarantined, and the state shown is the last one read, carried over it.
-- snapshot_carried: no mz delivery of this month loaded (core.mz_months); the
-- month shows the snapshot before it, whose date snapshot_date says.
CREATE OR REPLACE TABLE mart.household_month AS
WITH months AS (  -- a month whose mz delivery never loaded carries the snapshot before it
    SELECT month, extract_date, carried, as_of FROM core.mz_months
    WHERE month >= coalesce(getvariable('months_from'), month)  -- a month-scoped night: pipelines/core/scope.py
),
-- an interval covers a snapshot date d exactly when valid_from <= d <= last_seen
households AS (
    SELECT h.*, m.month, m.extract_date, m.carried, m.as_of
    FROM months m
    JOIN core.household_history h ON m.extract_date BETWEEN h.valid_from AND h.last_seen
),
members AS (
    SELECT m.month, m.extract_date, m.as_of, mh.household_id, mh.person_key
    FROM months m
    JOIN core.member_history mh ON m.extract_date BETWEEN mh.valid_from AND mh.last_seen
),
member_counts AS (
    SELECT month, household_id, count(*) AS members  -- one interval per member covers a date
    FROM members
    GROUP BY month, household_id
),
member_wages AS (  -- by month: a carried month shares its snapshot with the month before
    SELECT
        ms.month,
        ms.household_id,
        count(DISTINCT c.person_key) AS contributing_members,
        sum(c.base) AS contribution_base_total,
        sum(core.counted_employment_income(c.base, ms.as_of)) AS counted_base_total
    FROM members ms
    JOIN core.contributions c
      ON c.person_key = ms.person_key AND c.month = ms.month AND c.insurance = '企业职工基本养老保险'
    GROUP BY ms.month, ms.household_id
),
change_kinds AS (
    SELECT household_id, date_trunc('month', seen_date)::DATE AS month, kind
    FROM core.change_events
    WHERE household_id IS NOT NULL
    UNION
    -- persons' own changes (人社, 残联) land on the household they belong to that month
    SELECT ms.household_id, ms.month, e.kind
    FROM core.change_events e
    JOIN members ms ON ms.person_key = e.person_key AND ms.month = date_trunc('month', e.seen_date)
    WHERE e.household_id IS NULL
),
changes AS (
    SELECT household_id, month, list(kind ORDER BY kind) AS changes
    FROM change_kinds
    GROUP BY household_id, month
),
priced AS (
    SELECT
        h.*,
        coalesce(mc.members, 0) AS members,
        l.dibao_standard,
        l.dibao_edge_line,
        -- per-capita divisor: the member rows, or the declared size when none came
        coalesce(nullif(mc.members, 0), h.household_size) AS per_capita_divisor
    FROM households h
    LEFT JOIN member_counts mc ON mc.month = h.month AND mc.household_id = h.household_id
    LEFT JOIN core.dibao_lines l
      ON l.urban_rural = h.urban_rural
     AND h.as_of >= l.valid_from AND (l.valid_to IS NULL OR h.as_of < l.valid_to)
)
SELECT
    p.month,
    p.extract_date AS snapshot_date,
    p.household_id,
    p.county_code,
    p.township_code,
    p.division_code,
    p.urban_rural,
    p.category,
    p.status,
    p.household_size,
    p.members,
    p.benefit_amount,
    p.granted_date,
    p.dibao_standard,
    p.dibao_edge_line,
    p.income_per_capita,
    p.check_date,
    date_diff('month', p.check_date, p.as_of) AS check_age_months,
    core.income_band(p.income_per_capita, p.dibao_standard, p.dibao_edge_line) AS income_band,
    coalesce(w.contributing_members, 0) AS contributing_members,
    coalesce(w.contribution_base_total, 0)::DECIMAL(14, 2) AS contribution_base_total,
    (coalesce(w.contribution_base_total, 0) / nullif(p.per_capita_divisor, 0))::DECIMAL(12, 2)
        AS contribution_income_per_capita,
    (coalesce(w.counted_base_total, 0) / nullif(p.per_capita_divisor, 0))::DECIMAL(12, 2)
        AS counted_contribution_income_per_capita,
    (coalesce(w.counted_base_total, 0) / nullif(p.per_capita_divisor, 0))::DECIMAL(12, 2) < p.dibao_standard
        AS contribution_income_below_standard,
    coalesce(c.changes, []::VARCHAR[]) AS changes,
    -- the household's row in this snapshot was quarantined: the state shown is the last one read
    list_contains(p.unknown_on, p.extract_date) AS row_quarantined,
    -- no mz snapshot of this month loaded: the state is the snapshot before it (snapshot_date)
    p.carried AS snapshot_carried
FROM priced p
LEFT JOIN member_wages w ON w.month = p.month AND w.household_id = p.household_id
LEFT JOIN changes c ON c.household_id = p.household_id AND c.month = p.month;
