-- core.rule_living_subsidy_missing(d): rule '生活补贴未享受' on day d: a person
-- holding a 有效 certificate (any grade) who is covered by an 在册 低保 household
-- (core.covered_persons) while none of their 有效 certificates has
-- 享受生活补贴 = 是: the 困难残疾人生活补贴 is for disabled people in 低保
-- households (parameters/disability_living_subsidy.yaml). Grain: one row per person.
CREATE OR REPLACE MACRO core.rule_living_subsidy_missing(d) AS TABLE
WITH holders AS (
    SELECT
        person_key,
        arg_min(grade, grade_rank) AS grade,
        arg_min(disability_type, grade_rank) AS disability_type
    FROM core.certificates_asof(d)
    WHERE cert_status = '有效'
    GROUP BY person_key
    HAVING NOT bool_or(living_subsidy = '是')
),
dibao AS (
    SELECT person_key, min(household_id) AS household_id
    FROM core.covered_persons(d)
    WHERE category = '低保'
    GROUP BY person_key
)
SELECT
    h.person_key,
    '生活补贴未享受' AS rule,
    '有效' || h.grade || h.disability_type || '残疾证; 在册低保家庭 ' || b.household_id
        || ' 成员; 未享受困难残疾人生活补贴 ('
        || core.parameter_on('disability_living_subsidy', NULL, h.grade, d) || '元/月)' AS evidence
FROM holders h
JOIN dibao b ON b.person_key = h.person_key;
