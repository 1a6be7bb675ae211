-- restricted.member_states on a month-scoped night (lifecycle.toml [since]): the snapshots from
-- months_from taken again from staging's member rows, the earlier ones kept
-- (core.states_since, warehouse/core/history_macros.sql). The same rows as the full build
-- (warehouse/restricted/restricted_member_states.sql).
CREATE OR REPLACE TEMP VIEW mz_members_since AS
SELECT * FROM staging.mz_members WHERE extract_date >= getvariable('months_from');
CREATE OR REPLACE TABLE restricted.member_states AS
WITH shown_since AS (
    SELECT household_id, person_id, relation, work_ability, health, student, seq, extract_date
    FROM core.first_delivered(mz_members_since, 'mz', (household_id, person_id))
),
unread AS (
    SELECT extract_date, seq, (household_id, person_id) AS row_key
    FROM restricted.unread_rows WHERE file = 'members'
)
SELECT * FROM core.states_since(restricted.member_states, shown_since, unread, 'mz', (household_id, person_id));
DROP VIEW mz_members_since
