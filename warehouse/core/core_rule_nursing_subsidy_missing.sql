-- core.rule_nursing_subsidy_missing(d): rule '护理补贴未享受' on day d: a person
-- holding a 有效 certificate of grade 一级 or 二级 (latest cl snapshot on or before
-- d) while none of their 有效 certificates has 享受护理补贴 = 是. The 重度残疾人护理补贴
-- (parameters/disability_nursing_subsidy.yaml) is not means-tested, so mz
-- coverage does not matter. Grain: one row per person.
CREATE OR REPLACE MACRO core.rule_nursing_subsidy_missing(d) AS TABLE
WITH holders AS (
    SELECT
        person_key,
        min(grade_rank) AS grade_rank,
        arg_min(grade, grade_rank) AS grade,
        arg_min(disability_type, grade_rank) AS disability_type
    FROM core.certificates_asof(d)
    WHERE cert_status = '有效'
    GROUP BY person_key
    HAVING NOT bool_or(nursing_subsidy = '是')
)
SELECT
    person_key,
    '护理补贴未享受' AS rule,
    '有效' || grade || disability_type || '残疾证; 未享受重度残疾人护理补贴 ('
        || core.parameter_on('disability_nursing_subsidy', NULL, grade, d) || '元/月)' AS evidence
FROM holders
WHERE grade_rank <= 2;
