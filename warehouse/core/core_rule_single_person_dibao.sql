-- core.rule_single_person_dibao(d): the 单人保 rule exactly as outputs.md defines
-- it, on day d with the data delivered by d. A person qualifies when on d they
--   1. are 18 or older (birth date from the 身份证号);
--   2. hold a 有效 certificate of grade 一级 or 二级 (latest cl snapshot on or before d);
--   3. have no active employment: no 就业登记 that a later 就业登记注销 has not
--      closed, and no 企业职工基本养老保险 contribution for d's month or the two
--      months before (城乡居民 contributions and an open 失业登记 are not employment);
--   4. are a member of no mz household whose 保障状态 is 在册 (a 退出 household
--      covers nobody; the 户主 counts as a member: core.covered_persons).
-- Grain: one row per qualifying person, with the facts as evidence. The evidence says
-- which months of the window 人社 had not delivered by d (core.contribution_months):
-- "no contribution" is a fact only for months delivered. (The rule stays the contract's:
-- with rs behind, the person is still listed, and the list says what is unknown.)
CREATE OR REPLACE MACRO core.rule_single_person_dibao(d) AS TABLE
WITH severe AS (
    SELECT
        person_key,
        arg_min(grade, grade_rank) AS grade,
        arg_min(disability_type, grade_rank) AS disability_type,
        arg_min(issue_date, grade_rank) AS issue_date
    FROM core.certificates_asof(d)
    WHERE cert_status = '有效' AND grade IN ('一级', '二级')
    GROUP BY person_key
),
window_months AS (
    SELECT
        (date_trunc('month', d::DATE) - INTERVAL 2 MONTH)::DATE AS first_month,
        date_trunc('month', d::DATE)::DATE AS last_month
),
delivered AS (  -- the last month 人社 delivered by d
    SELECT max(month) AS last_delivered FROM core.contribution_months(d)
),
insured_workers AS (
    SELECT DISTINCT c.person_key
    FROM core.contributions c, window_months w
    WHERE c.insurance = '企业职工基本养老保险'
      AND c.month BETWEEN w.first_month AND w.last_month
      AND c.recorded_on <= d::DATE
)
SELECT
    s.person_key,
    '单人保' AS rule,
    '有效' || s.grade || s.disability_type || '残疾证 (发证 ' || s.issue_date || '); '
        || date_sub('year', p.birth_date, d::DATE) || '岁; 无未注销的就业登记; '
        || CASE
               WHEN x.last_delivered IS NULL OR x.last_delivered < w.first_month
                   THEN strftime(w.first_month, '%Y-%m') || '至' || strftime(w.last_month, '%Y-%m')
                        || '人社未交付缴费数据，是否缴费未知'
               WHEN x.last_delivered < w.last_month
                   THEN strftime(w.first_month, '%Y-%m') || '至' || strftime(x.last_delivered, '%Y-%m')
                        || '无企业职工养老保险缴费，' || strftime(x.last_delivered + INTERVAL 1 MONTH, '%Y-%m') || '至'
                        || strftime(w.last_month, '%Y-%m') || '人社未交付缴费数据'
               ELSE strftime(w.first_month, '%Y-%m') || '至' || strftime(w.last_month, '%Y-%m')
                        || '无企业职工养老保险缴费'
           END || '; 不在任何在册家庭' AS evidence
FROM severe s
JOIN core.persons p ON p.person_key = s.person_key
CROSS JOIN window_months w
CROSS JOIN delivered x
WHERE date_sub('year', p.birth_date, d::DATE) >= 18
  AND s.person_key NOT IN (SELECT person_key FROM core.open_registrations(d, '就业登记'))
  AND s.person_key NOT IN (SELECT person_key FROM insured_workers)
  AND s.person_key NOT IN (SELECT person_key FROM core.covered_persons(d));
