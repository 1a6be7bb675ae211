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
WITH shown AS (
    -- first_delivered, carried_over and history_intervals: warehouse/core/history_macros.sql
    SELECT *, (household_id, person_id) AS row_key, false AS carried
    FROM core.first_delivered(staging.mz_members, 'mz', (household_id, person_id))
),
unread AS (
    SELECT extract_date, seq, (household_id, person_id) AS row_key
    FROM restricted.unread_rows WHERE file = 'members'
),
delivered AS (
    -- as in core.household_history: a quarantined member row carries the last shown state
    SELECT * FROM shown
    UNION ALL BY NAME
    SELECT * FROM core.carried_over(shown, unread)
),
states AS (
    -- every distinct state of each membership, with the snapshots that showed it
    SELECT household_id, person_id, relation, work_ability, health, student, list_sort(list(seq)) AS seqs,
           list_sort(list(extract_date) FILTER (WHERE carried)) AS carried_dates
    FROM delivered
    GROUP BY ALL
)
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
FROM core.history_intervals(states, 'mz', person_id) r
ORDER BY r.household_id, r.person_key, valid_from;
