-- restricted.person_identity: the one place where a person_key meets the raw
-- 身份证号 and name. Grain: one row per normalised 18-character 身份证号 named by
-- any loaded delivery of any source (the same number is the same person everywhere).
-- person_key = sha256(hash_key || 身份证号), hex: a keyed hash, so nobody without
-- the key can recompute it from a guessed number. The key is a session variable
-- set by pipelines.core.build.build_core (DIBAO_HASH_KEY, or the warehouse's own key
-- in restricted.hash_key); building without it fails rather than hash with none.
-- Restricted: core and mart carry only person_key and masked_id.
CREATE OR REPLACE TABLE restricted.person_identity AS
WITH named AS (
    -- each source's latest non-empty name per number; source_rank breaks ties
    -- between sources on the same date: the household roster (民政) first, then
    -- the household head column, 残联, 人社
    SELECT person_id AS id_number, arg_max(name, extract_date) AS name,
           max(extract_date) FILTER (WHERE name IS NOT NULL) AS named_on, 1 AS source_rank
    FROM staging.mz_members GROUP BY person_id
    UNION ALL
    SELECT head_id, arg_max(head_name, extract_date), max(extract_date) FILTER (WHERE head_name IS NOT NULL), 2
    FROM staging.mz_households GROUP BY head_id
    UNION ALL
    SELECT left(cert_no, 18), arg_max(name, extract_date), max(extract_date) FILTER (WHERE name IS NOT NULL), 3
    FROM staging.cl_disability GROUP BY left(cert_no, 18)
    UNION ALL
    SELECT person_id, arg_max(name, extract_date), max(extract_date) FILTER (WHERE name IS NOT NULL), 4
    FROM staging.rs_registrations GROUP BY person_id
    UNION ALL
    SELECT DISTINCT person_id, NULL, NULL::DATE, 5 FROM staging.rs_contributions
),
people AS (
    SELECT id_number, arg_max(name, (named_on, -source_rank)) AS name  -- the latest name any source gave
    FROM named
    GROUP BY id_number
)
SELECT
    CASE WHEN getvariable('hash_key') IS NULL
         THEN error('hash_key is not set: build core through pipelines.core.build.build_core')
         ELSE sha256(getvariable('hash_key') || id_number) END AS person_key,
    id_number,
    name,
    mask_id(id_number) AS masked_id
FROM people
ORDER BY id_number;
