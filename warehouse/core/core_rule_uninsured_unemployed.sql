-- core.rule_uninsured_unemployed(d): rule '未参保失业临时救助' on day d: a person
-- with a 失业登记 still open on d (core.open_registrations) and no 失业保险
-- contribution for any of the 12 calendar months before the month of that
-- registration, who is not covered by an 在册 低保 or 特困 household: an
-- uninsured unemployed worker, a 临时救助 candidate (the 2024 notice: 生活困难
-- 且失业保险政策无法覆盖、未纳入最低生活保障范围的未参保失业人员).
-- Only where the delivered contribution history covers those 12 months
-- (core.unemployment_insurance.covered): otherwise nobody can tell, and the
-- person is in mart.discovery_undecided instead.
-- Grain: one row per person (their latest open registration as evidence).
CREATE OR REPLACE MACRO core.rule_uninsured_unemployed(d) AS TABLE
SELECT
    u.person_key,
    '未参保失业临时救助' AS rule,
    '失业登记 ' || u.reg_date || ' 未注销; '
        || strftime(u.window_start, '%Y-%m') || '至' || strftime(u.window_end, '%Y-%m')
        || '无失业保险缴费; 不在在册低保/特困家庭' AS evidence
FROM core.unemployment_insurance(d) u
WHERE u.covered AND NOT u.insured
  AND u.person_key NOT IN (
    SELECT person_key FROM core.covered_persons(d) WHERE category IN ('低保', '特困')
);
