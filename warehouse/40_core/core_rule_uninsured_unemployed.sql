-- core.rule_uninsured_unemployed(d): rule '未参保失业临时救助' on day d: a person
-- with a 失业登记 still open on d (core.open_registrations) and no 失业保险
-- contribution for any of the 12 calendar months before the month of that
-- registration, who is not covered by an 在册 低保 or 特困 household: an
-- uninsured unemployed worker, a 临时救助 candidate (the 2024 notice: 生活困难
-- 且失业保险政策无法覆盖、未纳入最低生活保障范围的未参保失业人员).
-- Grain: one row per person (their latest open registration as evidence).
CREATE OR REPLACE MACRO core.rule_uninsured_unemployed(d) AS TABLE
WITH open_unemployment AS (
    SELECT
        person_key,
        reg_date,
        date_trunc('month', reg_date)::DATE AS reg_month
    FROM core.open_registrations(d, '失业登记')
),
uninsured AS (
    SELECT u.person_key, max(u.reg_date) AS reg_date
    FROM open_unemployment u
    WHERE NOT EXISTS (
        SELECT 1
        FROM core.contributions c
        WHERE c.person_key = u.person_key
          AND c.insurance = '失业保险'
          AND c.month >= u.reg_month - INTERVAL 12 MONTH
          AND c.month < u.reg_month
          AND c.recorded_on <= d::DATE
    )
    GROUP BY u.person_key
)
SELECT
    u.person_key,
    '未参保失业临时救助' AS rule,
    '失业登记 ' || u.reg_date || ' 未注销; '
        || strftime((date_trunc('month', u.reg_date) - INTERVAL 12 MONTH)::DATE, '%Y-%m') || '至'
        || strftime((date_trunc('month', u.reg_date) - INTERVAL 1 MONTH)::DATE, '%Y-%m')
        || '无失业保险缴费; 不在在册低保/特困家庭' AS evidence
FROM uninsured u
WHERE u.person_key NOT IN (
    SELECT person_key FROM core.covered_persons(d) WHERE category IN ('低保', '特困')
);
