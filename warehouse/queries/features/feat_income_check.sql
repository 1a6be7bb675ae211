-- Feature group income_check: the last 家庭经济状况核对 as known on $as_of
-- (mz, latest snapshot on or before $as_of), against the 低保 standard in force
-- on $as_of. Grain: one row per household of feature_population.
--   check_income_ratio    月人均收入 at the last check / the standard (NULL: never checked)
--   check_age_months      calendar months from 核对日期 to $as_of (NULL: never checked)
--   never_checked         1 when no check is recorded
--   check_trend_ratio     change of the assessed income between the two latest checks
--                         known on $as_of, / the standard (NULL: fewer than two)
-- Earlier checks come from earlier snapshots only (core.household_history rows
-- that started on or before $as_of), each as the latest of those showed it.
WITH known_checks AS (
    SELECT
        household_id,
        check_date,
        arg_max(income_per_capita, valid_from)::DOUBLE AS income_per_capita
    FROM core.household_history
    WHERE valid_from <= $as_of::DATE
      AND check_date IS NOT NULL
      AND household_id IN (SELECT household_id FROM feature_population)
    GROUP BY household_id, check_date
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY household_id ORDER BY check_date DESC) AS recency
    FROM known_checks
),
previous AS (
    SELECT household_id, income_per_capita AS previous_income
    FROM ranked
    WHERE recency = 2
)
SELECT
    h.household_id,
    h.income_per_capita::DOUBLE / h.dibao_standard AS check_income_ratio,
    date_diff('month', h.check_date, $as_of::DATE) AS check_age_months,
    (h.check_date IS NULL)::INTEGER AS never_checked,
    (h.income_per_capita::DOUBLE - p.previous_income) / h.dibao_standard AS check_trend_ratio
FROM feature_population h
LEFT JOIN previous p ON p.household_id = h.household_id
