-- core.contribution_months(d): the months 人社 had delivered contributions for by d. A month
-- counts when it holds at least a tenth of the median month's contributions: one mistyped
-- 缴费年月 (201911 for 202311) is a contribution, not a delivered month. What the
-- unemployment-insurance windows (core.unemployment_insurance) and the 单人保 evidence
-- (core.rule_single_person_dibao) take as known. Grain: one row per delivered month.
CREATE OR REPLACE MACRO core.contribution_months(d) AS TABLE
WITH per_month AS (
    SELECT month, count(*) AS contributions
    FROM core.contributions
    WHERE recorded_on <= d::DATE
    GROUP BY month
)
SELECT month
FROM per_month
WHERE contributions >= 0.1 * (SELECT median(contributions) FROM per_month);
