-- restricted.household_states: every distinct delivered state of each mz household, with
-- the sorted seqs of the mz snapshots that showed it and the dates of those whose row was
-- quarantined (a quarantined row is not an exit: the last shown state is carried over it,
-- core.carried_over). What core.household_history cuts into validity intervals
-- (core.history_intervals). Kept as a table so that a month-scoped night only takes again
-- the snapshots from the first month it can change
-- (warehouse/queries/core/since_household_states.sql, lifecycle.toml [since]).
-- A 家庭编号 delivered twice in one snapshot keeps its first row (core.first_delivered).
-- Restricted: head_id is the 户主's 身份证号.
CREATE OR REPLACE TABLE restricted.household_states AS
WITH shown AS (
    SELECT household_id, head_id, division_code, urban_rural, category, status, household_size,
           income_per_capita, check_date, coalesce(benefit_amount, 0) AS benefit_amount, granted_date,
           seq, extract_date, household_id AS row_key
    FROM core.first_delivered(staging.mz_households, 'mz', household_id)
),
unread AS (
    SELECT extract_date, seq, household_id AS row_key FROM restricted.unread_rows WHERE file = 'households'
)
SELECT * FROM core.states_of(shown, unread);
