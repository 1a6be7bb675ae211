-- restricted.certificate_states: every distinct delivered state of each 残疾人证, with the
-- sorted seqs of the cl snapshots that showed it (first_delivered: a certificate delivered
-- twice in one snapshot keeps its first row). What core.certificate_history cuts into
-- validity intervals (core.history_intervals). Kept as a table so that a month-scoped
-- night only takes again the snapshots from the first month it can change
-- (warehouse/queries/core/since_certificate_states.sql, lifecycle.toml [since]) instead of
-- grouping every certificate row ever delivered.
-- Restricted: cert_no holds the 身份证号 in its first 18 characters.
CREATE OR REPLACE TABLE restricted.certificate_states AS
WITH shown AS (
    SELECT cert_no, disability_type, grade, cert_status, living_subsidy, nursing_subsidy, issue_date, division_code,
           seq, extract_date, cert_no AS row_key
    FROM core.first_delivered(staging.cl_disability, 'cl', cert_no)
),
unread AS (  -- a certificate whose row a snapshot quarantined: its last shown state carried over it
    SELECT extract_date, seq, cert_no AS row_key
    FROM restricted.unread_rows WHERE file = 'disability'
)
SELECT * FROM core.states_of(shown, unread);
