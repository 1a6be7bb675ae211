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
WITH repeated AS (
    SELECT extract_date, household_id, person_id, min(line_number) AS first_line
    FROM staging.mz_members
    GROUP BY extract_date, household_id, person_id
    HAVING count(*) > 1
),
shown AS (
    SELECT m.*, s.seq, false AS carried
    FROM staging.mz_members m
    JOIN core.snapshots s ON s.source = 'mz' AND s.extract_date = m.extract_date
    LEFT JOIN repeated r
      ON r.extract_date = m.extract_date AND r.household_id = m.household_id AND r.person_id = m.person_id
    WHERE r.first_line IS NULL OR r.first_line = m.line_number
),
unread AS (
    SELECT extract_date, seq, household_id, person_id FROM restricted.unread_rows WHERE file = 'members'
),
carried AS (
    -- as in core.household_history: a quarantined member row carries the last shown state
    SELECT p.* REPLACE (u.extract_date AS extract_date, u.seq AS seq, true AS carried)
    FROM unread u
    JOIN shown p ON p.household_id = u.household_id AND p.person_id = u.person_id AND p.seq < u.seq
    WHERE u.seq - p.seq - 1 = (SELECT count(*) FROM unread g
                               WHERE g.household_id = u.household_id AND g.person_id = u.person_id
                                 AND g.seq > p.seq AND g.seq < u.seq)
    QUALIFY row_number() OVER (PARTITION BY u.household_id, u.person_id, u.seq ORDER BY p.seq DESC) = 1
),
delivered AS (
    SELECT * FROM shown
    UNION ALL BY NAME
    SELECT * FROM carried
),
states AS (
    -- every distinct state of each membership, with the snapshots that showed it
    SELECT household_id, person_id, relation, work_ability, health, student, list_sort(list(seq)) AS seqs,
           list_sort(list(extract_date) FILTER (WHERE carried)) AS carried_dates
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
    r.household_id,
    i.person_key,
    i.masked_id,
    f.extract_date AS valid_from,
    n.extract_date AS valid_to,
    l.extract_date AS last_seen,
    r.relation,
    r.work_ability,
    r.health,
    r.student,
    coalesce(list_filter(r.carried_dates, lambda d: d BETWEEN f.extract_date AND l.extract_date),
             []::DATE[]) AS unknown_on              -- quarantined row: last known state carried over
FROM runs r
JOIN core.snapshots f ON f.source = 'mz' AND f.seq = r.first_seq
JOIN core.snapshots l ON l.source = 'mz' AND l.seq = r.last_seq
LEFT JOIN core.snapshots n ON n.source = 'mz' AND n.seq = r.last_seq + 1
JOIN restricted.person_identity i ON i.id_number = r.person_id
ORDER BY r.household_id, i.person_key, valid_from;
