-- mart.discovery_undecided: people a discovery rule could not decide on the
-- scoring date for lack of data, so they are in no list (not flagged, not
-- cleared). Today one rule: '未参保失业临时救助' where the 12 months before the
-- 失业登记 lie outside the contribution months rs has delivered (status
-- 'unknown: no contribution data'). Grain: one row per person and rule.
-- No name: masked ids only (it is not a caseworker list).
CREATE OR REPLACE TABLE mart.discovery_undecided AS
SELECT
    core.scoring_date() AS as_of_date,
    u.person_key,
    p.masked_id,
    p.county_code,
    p.township_code,
    '未参保失业临时救助' AS rule,
    'unknown: no contribution data' AS status,
    '失业登记 ' || u.reg_date || ' 未注销; 需 ' || strftime(u.window_start, '%Y-%m') || '至'
        || strftime(u.window_end, '%Y-%m') || ' 的失业保险缴费; 已交付缴费月份 '
        || coalesce(strftime(u.delivered_from, '%Y-%m') || '至' || strftime(u.delivered_to, '%Y-%m'), '无')
        AS evidence
FROM core.unemployment_insurance(core.scoring_date()) u
JOIN core.persons p ON p.person_key = u.person_key
WHERE NOT u.covered AND NOT u.insured
  AND u.person_key NOT IN (
    SELECT person_key FROM core.covered_persons(core.scoring_date()) WHERE category IN ('低保', '特困'))
ORDER BY p.county_code, p.township_code, p.masked_id;
