-- restricted.certificate_states on a month-scoped night (lifecycle.toml [since]): the cl
-- snapshots from months_from taken again from staging, the earlier ones kept
-- (core.states_since, warehouse/core/history_macros.sql). The same rows as the full build
-- (warehouse/restricted/restricted_certificate_states.sql).
CREATE OR REPLACE TEMP VIEW cl_since AS
SELECT * FROM staging.cl_disability WHERE extract_date >= getvariable('months_from');
CREATE OR REPLACE TABLE restricted.certificate_states AS
WITH shown_since AS (
    SELECT cert_no, disability_type, grade, cert_status, living_subsidy, nursing_subsidy, issue_date, division_code,
           seq, extract_date
    FROM core.first_delivered(cl_since, 'cl', cert_no)
),
unread AS (  -- a certificate whose row a snapshot quarantined: its last shown state carried over it
    SELECT extract_date, seq, cert_no AS row_key
    FROM restricted.unread_rows WHERE file = 'disability'
)
SELECT * FROM core.states_since(restricted.certificate_states, shown_since, unread, 'cl', cert_no);
DROP VIEW cl_since
