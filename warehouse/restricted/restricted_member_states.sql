-- restricted.member_states: every distinct delivered state of each membership (家庭编号 and
-- 身份证号), with the sorted seqs of the mz snapshots that showed it and the dates of those
-- whose row was quarantined (the last shown state carried over it: core.carried_over). What
-- core.member_history cuts into validity intervals (core.history_intervals). Kept as a table
-- so that a month-scoped night only takes again the snapshots from the first month it can
-- change (warehouse/queries/core/since_member_states.sql, lifecycle.toml [since]) instead of
-- grouping every member row ever delivered.
-- Restricted: person_id is the 身份证号.
CREATE OR REPLACE TABLE restricted.member_states AS
WITH shown AS (
    -- first_delivered and states_of: warehouse/core/history_macros.sql
    SELECT household_id, person_id, relation, work_ability, health, student, seq, extract_date,
           (household_id, person_id) AS row_key
    FROM core.first_delivered(staging.mz_members, 'mz', (household_id, person_id))
),
unread AS (
    SELECT extract_date, seq, (household_id, person_id) AS row_key
    FROM restricted.unread_rows WHERE file = 'members'
)
SELECT * FROM core.states_of(shown, unread);
