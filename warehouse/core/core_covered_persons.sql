-- core.covered_persons(d): the persons an mz household covers on day d: the
-- members and the head of every household whose 保障状态 is 在册 in the latest mz
-- snapshot on or before d (a 退出 household covers nobody). Grain: one row per
-- person and covering household, with the household's 保障类别.
CREATE OR REPLACE MACRO core.covered_persons(d) AS TABLE
SELECT m.person_key, h.household_id, h.category
FROM core.members_asof(d) m
JOIN core.households_asof(d) h ON h.household_id = m.household_id
WHERE h.status = '在册'
UNION
SELECT h.head_key, h.household_id, h.category
FROM core.households_asof(d) h
WHERE h.status = '在册';
