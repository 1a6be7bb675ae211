-- Standards adjusted every year whose value in force on the scoring date took effect 12 months
-- or more before it: core.parameter_on carries that value forward without a word, so the run
-- warns (issue 19). A value dated after the scoring date does not count: it is not in force yet,
-- so a year left out cannot hide behind next year's row. One row per standard and 城乡属性.
SELECT
    p.parameter,
    p.urban_rural,
    max(p.valid_from) AS last_dated,
    arg_max(p.amount, p.valid_from)::DOUBLE AS amount,
    s.scoring_date
FROM core.policy_parameters p,
     (SELECT core.scoring_date() AS scoring_date) s
WHERE p.parameter IN ('dibao_standard', 'tekun_basic_living')
  AND p.region_code = '371500'
  AND s.scoring_date IS NOT NULL
  AND p.valid_from <= s.scoring_date
GROUP BY p.parameter, p.urban_rural, s.scoring_date
HAVING s.scoring_date >= max(p.valid_from) + INTERVAL 12 MONTH
ORDER BY p.parameter, p.urban_rural
