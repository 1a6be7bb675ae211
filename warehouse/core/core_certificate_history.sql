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
WITH repeated AS (
    -- a certificate delivered twice in one snapshot keeps its first row
    SELECT extract_date, cert_no, min(line_number) AS first_line
    FROM staging.cl_disability
    GROUP BY extract_date, cert_no
    HAVING count(*) > 1
),
delivered AS (
    SELECT c.*, s.seq
    FROM staging.cl_disability c
    JOIN core.snapshots s ON s.source = 'cl' AND s.extract_date = c.extract_date
    LEFT JOIN repeated r ON r.extract_date = c.extract_date AND r.cert_no = c.cert_no
    WHERE r.first_line IS NULL OR r.first_line = c.line_number
),
states AS (
    -- every distinct state of each certificate, with the snapshots that showed it
    SELECT
        cert_no, disability_type, grade, cert_status, living_subsidy, nursing_subsidy, issue_date, division_code,
        list_sort(list(seq)) AS seqs
    FROM delivered
    GROUP BY ALL
),
runs AS (
    -- a state shown by snapshots 3, 4, 5 and 8 makes two intervals: 3-5 and 8
    SELECT
        * EXCLUDE (seqs),
        unnest(list_filter(seqs, lambda x, i: i = 1 OR seqs[i - 1] <> x - 1)) AS first_seq,
        unnest(list_filter(seqs, lambda x, i: i = len(seqs) OR seqs[i + 1] <> x + 1)) AS last_seq
    FROM states
)
SELECT
    i.person_key,
    i.masked_id,
    substr(r.cert_no, 19, 2) AS cert_suffix,
    f.extract_date AS valid_from,
    n.extract_date AS valid_to,
    l.extract_date AS last_seen,
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
FROM runs r
JOIN core.snapshots f ON f.source = 'cl' AND f.seq = r.first_seq
JOIN core.snapshots l ON l.source = 'cl' AND l.seq = r.last_seq
LEFT JOIN core.snapshots n ON n.source = 'cl' AND n.seq = r.last_seq + 1
JOIN restricted.person_identity i ON i.id_number = left(r.cert_no, 18)
ORDER BY i.person_key, cert_suffix, valid_from;
