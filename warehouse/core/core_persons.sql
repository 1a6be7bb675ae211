-- core.persons: everyone any source names, linked across sources by person_key.
-- Grain: one row per person (normalised 18-character 身份证号).
-- birth_date and sex come from the 身份证号 itself (digits 7-14; digit 17 odd =
-- 男), not from a source's columns, so every source agrees on them.
-- residence_code is the latest 12-digit 行政区划代码 any source gave: the
-- household's (mz, as of the last snapshot listing the person), the
-- certificate's (cl, as of the last snapshot showing it) or the registration's
-- (rs, as of its 登记日期). On the same date cl wins over rs over mz: a person's
-- own record rather than their household's.
-- Local (sources.md): a 身份证号 from 3715xx or the old 3725xx regions, and no
-- residence known outside 3715.
CREATE OR REPLACE TABLE core.persons AS
WITH residences AS (
    -- mz: the household's code in the last snapshot that listed the member
    SELECT m.person_key, 'mz' AS source, m.last_seen AS seen_on, h.division_code, 1 AS source_rank
    FROM core.member_history m
    LEFT JOIN core.household_history h
      ON h.household_id = m.household_id AND m.last_seen BETWEEN h.valid_from AND h.last_seen
    UNION ALL
    SELECT head_key, 'mz', last_seen, division_code, 1 FROM core.household_history
    UNION ALL
    SELECT person_key, 'cl', last_seen, division_code, 3 FROM core.certificate_history
    UNION ALL
    -- a registration dated after the delivery that brought it is a typo (2099-01-01), not news:
    -- it moved a 单人保 candidate to another county's list (the second hostile audit)
    SELECT person_key, 'rs', reg_date, division_code, 2 FROM core.registrations WHERE reg_date <= recorded_on
),
latest AS (
    SELECT
        person_key,
        bool_or(source = 'mz') AS in_mz,
        bool_or(source = 'cl') AS in_cl,
        bool_or(source = 'rs') AS in_rs,
        arg_max(division_code, (seen_on, source_rank)) AS residence_code,
        arg_max(source, (seen_on, source_rank)) FILTER (WHERE division_code IS NOT NULL) AS residence_source,
        max(seen_on) FILTER (WHERE division_code IS NOT NULL) AS residence_date
    FROM residences
    GROUP BY person_key
),
contributors AS (
    SELECT DISTINCT person_key FROM core.contributions
),
people AS (
    SELECT
        i.person_key,
        i.masked_id,
        try_strptime(substr(i.id_number, 7, 8), '%Y%m%d')::DATE AS birth_date,
        CASE WHEN substr(i.id_number, 17, 1)::INTEGER % 2 = 1 THEN '男' ELSE '女' END AS sex,
        left(i.id_number, 4) IN ('3715', '3725') AS local_id,  -- 371523 (old 茌平) is under 3715
        coalesce(l.in_mz, false) AS in_mz,
        coalesce(l.in_cl, false) AS in_cl,
        coalesce(l.in_rs, false) OR c.person_key IS NOT NULL AS in_rs,
        l.residence_code,
        l.residence_source,
        l.residence_date
    FROM restricted.person_identity i
    LEFT JOIN latest l USING (person_key)
    LEFT JOIN contributors c USING (person_key)
)
SELECT
    person_key,
    masked_id,
    birth_date,
    sex,
    in_mz,
    in_cl,
    in_rs,
    local_id,
    residence_code,
    left(residence_code, 6) AS county_code,
    left(residence_code, 9) AS township_code,
    residence_source,                                       -- mz, cl or rs
    residence_date,
    -- non-local: a 身份证号 from outside 聊城 or a residence outside 3715 (sources.md)
    local_id AND coalesce(residence_code LIKE '3715%', true) AS is_local
FROM people
ORDER BY person_key;
