-- mart.discovery_candidates: people who may qualify for help they do not get,
-- found by rules on the scoring date (outputs.md). Grain: one row per person and
-- rule. as_of_date = core.scoring_date(), the extract date of the latest loaded
-- mz snapshot; cl and rs count as delivered by that date. Rules (core.rule_*):
--   单人保             adult 一/二级 certificate holder, not employed, in no 在册 household
--   护理补贴未享受     有效 一/二级 certificate without the 重度残疾人护理补贴
--   生活补贴未享受     certificate holder in an 在册 低保 household without the 生活补贴
--   未参保失业临时救助 open 失业登记, no 失业保险 in the 12 months before it (where the
--                      delivered contributions cover them), not in 低保/特困
--   急难               a recent 急难 signal in any 在册 household (its 户主), or a new
--                      一/二级 certificate outside the register: 24-hour help
-- priority: order of need within a township and rule, 1 first (the sheets list
-- candidates in it). 单人保: 一级 before 二级; then whoever gets neither the 生活补贴
-- nor the 护理补贴, then one of them, then both; then the elder first. Other rules
-- have no need order yet: by masked id.
-- county/township come from the person's latest residence code (core.persons).
-- name is the one raw personal field a mart may show (privacy rules); ids are masked.
CREATE OR REPLACE TABLE mart.discovery_candidates AS
WITH candidates AS (
    SELECT person_key, rule, evidence FROM core.rule_single_person_dibao(core.scoring_date())
    UNION ALL
    SELECT person_key, rule, evidence FROM core.rule_nursing_subsidy_missing(core.scoring_date())
    UNION ALL
    SELECT person_key, rule, evidence FROM core.rule_living_subsidy_missing(core.scoring_date())
    UNION ALL
    SELECT person_key, rule, evidence FROM core.rule_uninsured_unemployed(core.scoring_date())
    UNION ALL
    SELECT person_key, rule, evidence FROM core.rule_emergency(core.scoring_date())
),
need AS (
    SELECT
        person_key,
        min(grade_rank) FILTER (WHERE cert_status = '有效') AS grade_rank,
        (bool_or(living_subsidy = '是' AND cert_status = '有效')::INTEGER
         + bool_or(nursing_subsidy = '是' AND cert_status = '有效')::INTEGER) AS subsidies
    FROM core.certificates_asof(core.scoring_date())
    GROUP BY person_key
)
SELECT
    core.scoring_date() AS as_of_date,
    c.person_key,
    p.masked_id,
    i.name,
    p.county_code,
    p.township_code,
    c.rule,
    c.evidence,
    row_number() OVER (
        PARTITION BY p.township_code, c.rule
        ORDER BY CASE WHEN c.rule = '单人保' THEN n.grade_rank END NULLS LAST,
                 CASE WHEN c.rule = '单人保' THEN coalesce(n.subsidies, 0) END,
                 CASE WHEN c.rule = '单人保' THEN p.birth_date END,
                 p.masked_id, c.person_key
    ) AS priority
FROM candidates c
JOIN core.persons p ON p.person_key = c.person_key
JOIN restricted.person_identity i ON i.person_key = c.person_key
LEFT JOIN need n ON n.person_key = c.person_key
ORDER BY p.county_code, p.township_code, c.rule, priority;
