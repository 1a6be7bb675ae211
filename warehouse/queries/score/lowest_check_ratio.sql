-- Per household and date of $dates: the lowest 月人均收入 ÷ 低保 standard that a
-- 家庭经济状况核对 found in the 3 months after the date. Read by the label-margin
-- ways of models/bias_checks.py (a diagnostic), never by training.
SELECT d.as_of_date, c.household_id,
       min(c.income_per_capita / c.dibao_standard)::DOUBLE AS lowest_check_ratio
FROM (SELECT unnest($dates::DATE[]) AS as_of_date) d
JOIN core.income_checks c
  ON c.check_date > d.as_of_date AND c.check_date <= d.as_of_date + INTERVAL 3 MONTH
GROUP BY ALL
