-- core.income_checks: every 家庭经济状况核对 an mz snapshot reported.
-- Grain: one row per household and distinct 核对日期. The assessed per-capita
-- income is as last delivered for that 核对日期 (a later snapshot may correct it).
-- The lines are those in force on the 核对日期 for the household's 城乡属性 then.
CREATE OR REPLACE TABLE core.income_checks AS
WITH checks AS (
    SELECT
        household_id,
        check_date,
        arg_max(income_per_capita, valid_from) AS income_per_capita,
        arg_max(urban_rural, valid_from) AS urban_rural,
        min(valid_from) AS first_seen                       -- the first snapshot that reported the check
    FROM core.household_history
    WHERE check_date IS NOT NULL
    GROUP BY household_id, check_date
)
SELECT
    c.household_id,
    c.check_date,
    c.first_seen,
    c.urban_rural,
    c.income_per_capita,
    l.dibao_standard,
    l.dibao_edge_line,
    c.income_per_capita < l.dibao_standard AS below_standard,
    core.income_band(c.income_per_capita, l.dibao_standard, l.dibao_edge_line) AS income_band
FROM checks c
LEFT JOIN core.dibao_lines l
  ON l.urban_rural = c.urban_rural
 AND c.check_date >= l.valid_from AND (l.valid_to IS NULL OR c.check_date < l.valid_to)
ORDER BY c.household_id, c.check_date;
