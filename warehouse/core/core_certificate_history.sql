-- core.certificate_history: each 残疾人证 as validity intervals of its delivered
-- state (grade, status, subsidy flags ...). Grain: one row per person,
-- cert_suffix and interval in which nothing on the certificate changed.
-- cert_suffix is digits 19-20 of the 残疾人证号 (category and grade digit as
-- issued): it tells a person's certificates apart without the 身份证号 that
-- makes up the first 18. grade is the 残疾等级 column, which wins over the
-- digits when they disagree (sources.md); grade_rank 1 = 一级, the most severe.
-- valid_from (inclusive) = the first cl snapshot that showed it so;
-- valid_to (exclusive) = the first later cl snapshot that showed it otherwise or
-- not at all; NULL = still so in the latest cl snapshot. See core.certificates_asof(D).
CREATE OR REPLACE TABLE core.certificate_history AS
SELECT
    r.person_key,
    r.masked_id,
    substr(r.cert_no, 19, 2) AS cert_suffix,
    r.valid_from,
    r.valid_to,
    r.last_seen,
    r.disability_type,
    r.grade,
    list_position(['一级', '二级', '三级', '四级'], r.grade) AS grade_rank,
    r.cert_status,
    r.living_subsidy,
    r.nursing_subsidy,
    r.issue_date,
    r.division_code,
    left(r.division_code, 6) AS county_code,
    left(r.division_code, 9) AS township_code
-- restricted.certificate_states: each state with the snapshots that showed it
FROM core.history_intervals(restricted.certificate_states, 'cl', left(cert_no, 18)) r
ORDER BY r.person_key, cert_suffix, valid_from;
