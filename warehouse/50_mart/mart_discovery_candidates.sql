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
)
SELECT
    core.scoring_date() AS as_of_date,
    c.person_key,
    p.masked_id,
    i.name,
    p.county_code,
    p.township_code,
    c.rule,
    c.evidence
FROM candidates c
JOIN core.persons p ON p.person_key = c.person_key
JOIN restricted.person_identity i ON i.person_key = c.person_key
ORDER BY p.county_code, p.township_code, c.rule, p.masked_id;
