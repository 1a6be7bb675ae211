-- mart.township_month: monitored population, benefits and disability subsidies
-- per 乡镇/街道, month by month. Grain: one row per month (its last mz snapshot)
-- and 9-digit township code that had a listed household or a 有效 certificate.
-- Households and persons count 在册 households by 保障类别 (persons = member rows);
-- benefit_paid = sum of 月保障金额 of 在册 households. Subsidy recipients are
-- holders of a 有效 certificate flagged 享受生活补贴 / 享受护理补贴 in the latest
-- cl snapshot on or before the mz snapshot date, each person once (their most
-- severe flagged certificate); amounts = recipients x the standard for the grade
-- in force then (a flag on a grade with no standard counts as a recipient, 0 yuan).
-- households_row_quarantined: 在册 households counted with the state last read, their
-- row in this snapshot quarantined; cl_snapshot_date: the cl snapshot the subsidies use;
-- mz_snapshot_date: the mz snapshot the month's figures use, an earlier month's when the
-- month's own delivery never loaded (mz_snapshot_carried, core.mz_months).
CREATE OR REPLACE TABLE mart.township_month AS
WITH months AS (  -- a month whose mz delivery never loaded carries the snapshot before it
    SELECT month, extract_date, carried, as_of FROM core.mz_months
    WHERE month >= coalesce(getvariable('months_from'), month)  -- a month-scoped night: pipelines/core/scope.py
),
households AS (
    SELECT
        month,
        county_code,
        township_code,
        count(*) FILTER (WHERE status = '在册') AS households,
        sum(members) FILTER (WHERE status = '在册') AS persons,
        count(*) FILTER (WHERE status = '在册' AND category = '低保') AS dibao_households,
        sum(members) FILTER (WHERE status = '在册' AND category = '低保') AS dibao_persons,
        count(*) FILTER (WHERE status = '在册' AND category = '特困') AS tekun_households,
        sum(members) FILTER (WHERE status = '在册' AND category = '特困') AS tekun_persons,
        count(*) FILTER (WHERE status = '在册' AND category = '低保边缘') AS edge_households,
        sum(members) FILTER (WHERE status = '在册' AND category = '低保边缘') AS edge_persons,
        count(*) FILTER (WHERE status = '在册' AND category = '刚性支出困难') AS rigid_expense_households,
        sum(members) FILTER (WHERE status = '在册' AND category = '刚性支出困难') AS rigid_expense_persons,
        count(*) FILTER (WHERE status = '在册' AND category = '其他低收入') AS other_low_income_households,
        sum(members) FILTER (WHERE status = '在册' AND category = '其他低收入') AS other_low_income_persons,
        count(*) FILTER (WHERE status = '退出') AS exited_households,
        sum(benefit_amount) FILTER (WHERE status = '在册') AS benefit_paid,
        count(*) FILTER (WHERE status = '在册' AND row_quarantined) AS households_row_quarantined
    FROM mart.household_month
    WHERE month >= coalesce(getvariable('months_from'), month)
    GROUP BY month, county_code, township_code
),
holders AS (
    SELECT
        m.month,
        m.as_of,  -- the day the certificates in force and the standards are read on
        c.person_key,
        arg_min(c.division_code, c.grade_rank) AS division_code,
        list_extract(['一级', '二级', '三级', '四级'],
                     min(c.grade_rank) FILTER (WHERE c.living_subsidy = '是')) AS living_grade,
        list_extract(['一级', '二级', '三级', '四级'],
                     min(c.grade_rank) FILTER (WHERE c.nursing_subsidy = '是')) AS nursing_grade
    FROM months m
    JOIN core.certificate_history c
      ON c.valid_from <= m.as_of AND coalesce(c.valid_to, DATE '9999-12-31') > m.as_of
    WHERE c.cert_status = '有效' AND (c.living_subsidy = '是' OR c.nursing_subsidy = '是')
    GROUP BY m.month, m.as_of, c.person_key
),
by_grade AS (
    SELECT
        month,
        as_of,
        left(division_code, 6) AS county_code,
        left(division_code, 9) AS township_code,
        living_grade,
        nursing_grade,
        count(*) AS holders
    FROM holders
    GROUP BY ALL
),
priced AS (
    -- the standard for each grade in force on the month's day (its snapshot's date, or a carried month's last; 0 where none is)
    SELECT
        *,
        coalesce(core.parameter_on('disability_living_subsidy', NULL, living_grade, as_of), 0)
            AS living_standard,
        coalesce(core.parameter_on('disability_nursing_subsidy', NULL, nursing_grade, as_of), 0)
            AS nursing_standard
    FROM by_grade
),
cl_dates AS (
    -- the 残联 snapshot the month's subsidy figures come from: a month whose cl delivery is
    -- missing or rejected shows an earlier one, and says which
    SELECT m.month, max(s.extract_date) AS cl_snapshot_date
    FROM months m
    LEFT JOIN core.snapshots s ON s.source = 'cl' AND s.extract_date <= m.as_of
    GROUP BY m.month
),
subsidies AS (
    SELECT
        month,
        county_code,
        township_code,
        sum(holders) FILTER (WHERE living_grade IS NOT NULL) AS living_subsidy_recipients,
        sum(holders * living_standard) FILTER (WHERE living_grade IS NOT NULL) AS living_subsidy_amount,
        sum(holders) FILTER (WHERE nursing_grade IS NOT NULL) AS nursing_subsidy_recipients,
        sum(holders * nursing_standard) FILTER (WHERE nursing_grade IS NOT NULL) AS nursing_subsidy_amount
    FROM priced
    GROUP BY month, county_code, township_code
)
SELECT
    month,
    county_code,
    township_code,
    coalesce(h.households, 0)::BIGINT AS households,
    coalesce(h.persons, 0)::BIGINT AS persons,
    coalesce(h.dibao_households, 0)::BIGINT AS dibao_households,
    coalesce(h.dibao_persons, 0)::BIGINT AS dibao_persons,
    coalesce(h.tekun_households, 0)::BIGINT AS tekun_households,
    coalesce(h.tekun_persons, 0)::BIGINT AS tekun_persons,
    coalesce(h.edge_households, 0)::BIGINT AS edge_households,
    coalesce(h.edge_persons, 0)::BIGINT AS edge_persons,
    coalesce(h.rigid_expense_households, 0)::BIGINT AS rigid_expense_households,
    coalesce(h.rigid_expense_persons, 0)::BIGINT AS rigid_expense_persons,
    coalesce(h.other_low_income_households, 0)::BIGINT AS other_low_income_households,
    coalesce(h.other_low_income_persons, 0)::BIGINT AS other_low_income_persons,
    coalesce(h.exited_households, 0)::BIGINT AS exited_households,
    coalesce(h.benefit_paid, 0)::DECIMAL(14,2) AS benefit_paid,
    coalesce(s.living_subsidy_recipients, 0)::BIGINT AS living_subsidy_recipients,
    coalesce(s.living_subsidy_amount, 0)::DECIMAL(14,2) AS living_subsidy_amount,
    coalesce(s.nursing_subsidy_recipients, 0)::BIGINT AS nursing_subsidy_recipients,
    coalesce(s.nursing_subsidy_amount, 0)::DECIMAL(14,2) AS nursing_subsidy_amount,
    coalesce(h.households_row_quarantined, 0)::BIGINT AS households_row_quarantined,
    d.cl_snapshot_date,
    m.extract_date AS mz_snapshot_date,
    m.carried AS mz_snapshot_carried
FROM households h
FULL JOIN subsidies s USING (month, county_code, township_code)
LEFT JOIN cl_dates d USING (month)
LEFT JOIN months m USING (month)
ORDER BY month, county_code, township_code;
