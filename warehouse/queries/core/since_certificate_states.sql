-- restricted.certificate_states on a month-scoped night (lifecycle.toml [since]): the seqs of
-- the cl snapshots before months_from are kept (those snapshots did not change, so neither
-- did their seqs), every later seq is dropped and taken again from staging's rows of the
-- snapshots from months_from; a state left with no seq is gone. The same rows as the full
-- build (warehouse/restricted/restricted_certificate_states.sql).
CREATE OR REPLACE TEMP VIEW cl_since AS
SELECT * FROM staging.cl_disability WHERE extract_date >= getvariable('months_from');
CREATE OR REPLACE TABLE restricted.certificate_states AS
WITH first_changed AS (
    SELECT coalesce(min(seq), (SELECT coalesce(max(seq), 0) + 1 FROM core.snapshots WHERE source = 'cl')) AS seq
    FROM core.snapshots WHERE source = 'cl' AND extract_date >= getvariable('months_from')
),
parts AS (
    SELECT s.* EXCLUDE (seqs), list_filter(s.seqs, lambda x: x < f.seq) AS seqs
    FROM restricted.certificate_states s CROSS JOIN first_changed f
    UNION ALL BY NAME
    SELECT cert_no, disability_type, grade, cert_status, living_subsidy, nursing_subsidy, issue_date, division_code,
           list(seq) AS seqs
    FROM core.first_delivered(cl_since, 'cl', cert_no)
    GROUP BY ALL
)
SELECT * EXCLUDE (seqs), list_sort(flatten(list(seqs))) AS seqs
FROM parts
WHERE len(seqs) > 0
GROUP BY ALL;
DROP VIEW cl_since
