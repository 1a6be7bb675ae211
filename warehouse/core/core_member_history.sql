-- core.member_history: who belonged to which mz household when, as validity
-- intervals. Grain: one row per 家庭编号, person and interval in which the
-- member's delivered attributes did not change.
-- valid_from (inclusive) = the first snapshot that listed the member so;
-- valid_to (exclusive) = the first later snapshot that listed them otherwise or
-- not at all; NULL = still so in the latest snapshot. See core.members_asof(D).
-- A quarantined member row carries the last known state (dates in unknown_on).
-- A person listed in two households has rows for both (a conflict recorded at
-- load, kept as delivered); members of a household missing from the snapshot
-- (orphans) are kept too. A member listed twice in the same household of one
-- snapshot keeps the first row.
CREATE OR REPLACE TABLE core.member_history AS
-- restricted.member_states: every state of each membership with the snapshots that showed it
SELECT
    r.household_id,
    r.person_key,
    r.masked_id,
    r.valid_from,
    r.valid_to,
    r.last_seen,
    r.relation,
    r.work_ability,
    r.health,
    r.student,
    coalesce(list_filter(r.carried_dates, lambda d: d BETWEEN r.valid_from AND r.last_seen),
             []::DATE[]) AS unknown_on              -- quarantined row: last known state carried over
FROM core.history_intervals(restricted.member_states, 'mz', person_id) r
ORDER BY r.household_id, r.person_key, valid_from;
