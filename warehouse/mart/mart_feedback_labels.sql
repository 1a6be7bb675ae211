-- mart.feedback_labels: caseworkers' findings as labels for the risk model.
-- Grain: one row per household and list answered (the list it was on when
-- checked), with the most recent report for that listing.
-- below_standard: TRUE for 纳入低保 (the check found the per-capita income under
-- the 低保 standard), FALSE for 不符合条件 (it did not), NULL for 已入户,
-- 临时救助 and 联系不上 (no finding about income). Pair a label with the
-- household's features as of list_as_of_date, the scoring date the list showed.
-- Only listed households are ever checked: the labels are a sample chosen by
-- the model itself, not a random one.
CREATE OR REPLACE VIEW mart.feedback_labels AS
WITH latest AS (
    SELECT
        household_id,
        list_as_of_date,
        arg_max(result, (check_date, loaded_at, line_number)) AS result,
        max(check_date) AS check_date
    FROM staging.feedback
    GROUP BY household_id, list_as_of_date
)
SELECT
    f.household_id,
    f.list_as_of_date,
    l.county_code,
    l.township_code,
    l.risk_score AS listed_risk_score,
    l.risk_level AS listed_risk_level,
    f.check_date,
    f.result,
    CASE f.result WHEN '纳入低保' THEN true WHEN '不符合条件' THEN false END AS below_standard
FROM latest f
LEFT JOIN mart.listed_households l ON l.household_id = f.household_id AND l.as_of_date = f.list_as_of_date;
