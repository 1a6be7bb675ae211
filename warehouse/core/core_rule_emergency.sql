-- core.rule_emergency(d): rule '急难' on day d: 24-hour help first (the 2024
-- notice: 实行急难对象24小时先行救助), for every 在册 household whatever its
-- category (低保 and 特困 included, which risk scoring never lists) and for people
-- in no 在册 household. Risk lists used to raise 急难 only for households scored
-- 高, so 低保/特困 households and people outside the register never got it.
-- Signals, first seen after the previous mz snapshot and by d (the first
-- snapshot is a baseline, not a change), as in the risk lists (pipelines/publish/lists.py):
--   household: a member died or left; a member newly 重病; a member newly holding
--              (or worsened to) a 有效 一级/二级 certificate;
--   outside the register: the person newly holds (or worsened to) a 有效 一级/二级 certificate.
-- A household's row names its 户主 (the caseworker's contact). Grain: one row per person.
CREATE OR REPLACE MACRO core.rule_emergency(d) AS TABLE
WITH bounds AS (
    SELECT max(extract_date) AS since
    FROM core.snapshots
    WHERE source = 'mz' AND extract_date < (
        SELECT max(extract_date) FROM core.snapshots WHERE source = 'mz' AND extract_date <= d::DATE)
),
recent AS (
    SELECT e.*
    FROM core.change_events e, bounds b
    WHERE e.seen_date > b.since AND e.seen_date <= d::DATE
),
registered AS (
    SELECT household_id, head_key, category FROM core.households_asof(d) WHERE status = '在册'
),
members AS (
    SELECT m.* FROM core.members_asof(d) m JOIN registered USING (household_id)
),
severe AS (
    SELECT DISTINCT person_key
    FROM core.certificates_asof(d)
    WHERE cert_status = '有效' AND grade_rank <= 2
),
household_signals AS (
    SELECT e.household_id, e.seen_date, '家人去世或离开' AS what
    FROM recent e
    WHERE e.kind = 'member_died_or_left' AND e.household_id IN (SELECT household_id FROM registered)
    UNION
    SELECT m.household_id, m.valid_from, '家人新患重病'
    FROM members m, bounds b
    WHERE m.health = '重病' AND m.valid_from > b.since
      AND NOT EXISTS (
          SELECT 1 FROM core.member_history before
          WHERE before.household_id = m.household_id AND before.person_key = m.person_key
            AND before.valid_to = m.valid_from AND before.health = '重病')
    UNION
    SELECT m.household_id, e.seen_date, '家人新持一/二级残疾证'
    FROM recent e
    JOIN members m USING (person_key)
    JOIN severe USING (person_key)
    WHERE e.kind IN ('new_disability', 'disability_worsened')
),
signals AS (
    SELECT r.head_key AS person_key,
           '家庭编号 ' || r.household_id || ' (' || r.category || ' 在册): ' || s.what || ' ' || s.seen_date AS fact
    FROM household_signals s
    JOIN registered r USING (household_id)
    UNION
    SELECT e.person_key, '新持一/二级残疾证 ' || e.seen_date || ', 不在任何在册家庭'
    FROM recent e
    JOIN severe USING (person_key)
    WHERE e.kind IN ('new_disability', 'disability_worsened')
      AND e.person_key NOT IN (SELECT person_key FROM core.covered_persons(d))
)
SELECT
    person_key,
    '急难' AS rule,
    string_agg(fact, '; ' ORDER BY fact) || '; 24小时内先行救助' AS evidence
FROM signals
WHERE person_key IS NOT NULL
GROUP BY person_key;
