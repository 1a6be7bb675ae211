-- The steps the history models share, as table macros (a migration: applied when
-- this file changes; the models that call them are built nightly). A model that
-- calls one is built after the models the macro reads (core.snapshots,
-- restricted.person_identity) and those it passes to it. DuckDB binds a macro's
-- tables when it is created unless it reads a relation passed by name
-- (query_table), as each of these does: they are created before core is built.

-- core.delivered_key(raw): a 家庭编号 as delivered, read as the load reads it
-- (pipelines.ingest.cell_repairs.repair_key): trimmed, and an all-digit key written as a
-- float (`3715020010010001.0`) back to its digits when it holds at most 2^53. For rows
-- quarantined whole, whose raw key no repair saw. (A key in scientific notation is
-- left as delivered here: such a row is not carried.)
CREATE OR REPLACE MACRO core.delivered_key(raw) AS (
    CASE WHEN regexp_full_match(trim(raw), '[0-9]{1,16}\.0+')
              AND TRY_CAST(regexp_extract(trim(raw), '^[0-9]+') AS HUGEINT) <= 9007199254740992
         THEN regexp_extract(trim(raw), '^[0-9]+')
         ELSE trim(raw) END
);

-- core.first_delivered(rows_of, snapshot_source, row_key): the rows of the staging
-- table named rows_of from the loaded snapshots of snapshot_source ('mz', 'cl'),
-- each with its snapshot's seq. A row_key delivered twice in one snapshot keeps its
-- first row (lowest line_number): the copy is a delivery defect, not a second row.
-- row_key is a column, or a row of columns: (household_id, person_id).
-- (A grouped minimum joined back, not a window: no sort of every row ever delivered;
-- a snapshot's line number names one row, so the first line of a key is that key's row.)
CREATE OR REPLACE MACRO core.first_delivered(rows_of, snapshot_source, row_key) AS TABLE
WITH firsts AS (
    SELECT extract_date, min(line_number) AS line_number
    FROM query_table(rows_of)
    GROUP BY extract_date, row_key
)
SELECT d.*, s.seq
FROM query_table(rows_of) d
SEMI JOIN firsts f ON f.extract_date = d.extract_date AND f.line_number = d.line_number
JOIN core.snapshots s ON s.source = snapshot_source AND s.extract_date = d.extract_date;

-- core.history_intervals(states, snapshot_source, id_number_of): validity intervals
-- from the relation named states, one row per distinct delivered state with `seqs`,
-- the sorted seqs of the snapshots that showed it. A state shown by snapshots 3, 4,
-- 5 and 8 makes two intervals: 3-5 and 8. Returns the state's columns (without
-- seqs), valid_from (the interval's first snapshot), valid_to (the next snapshot
-- after its last; NULL = still so in the latest), last_seen (its last snapshot),
-- and the person_key and masked_id of the 身份证号 id_number_of (an expression
-- over the state's columns, e.g. head_id).
CREATE OR REPLACE MACRO core.history_intervals(states, snapshot_source, id_number_of) AS TABLE
SELECT
    r.* EXCLUDE (first_seq, last_seq),
    f.extract_date AS valid_from,
    n.extract_date AS valid_to,
    l.extract_date AS last_seen,
    i.person_key,
    i.masked_id
FROM (
    SELECT
        * EXCLUDE (seqs),
        unnest(list_filter(seqs, lambda x, i: i = 1 OR seqs[i - 1] <> x - 1)) AS first_seq,
        unnest(list_filter(seqs, lambda x, i: i = len(seqs) OR seqs[i + 1] <> x + 1)) AS last_seq
    FROM query_table(states)
) r
JOIN core.snapshots f ON f.source = snapshot_source AND f.seq = r.first_seq
JOIN core.snapshots l ON l.source = snapshot_source AND l.seq = r.last_seq
LEFT JOIN core.snapshots n ON n.source = snapshot_source AND n.seq = r.last_seq + 1
JOIN restricted.person_identity i ON i.id_number = id_number_of;

-- core.carried_over(shown, unread): a quarantined row is not an exit. From the
-- relation named shown (delivered rows with seq, extract_date, carried and a
-- row_key column: the row's identity, a column or a row of columns) and the one
-- named unread (extract_date, seq, row_key of the snapshots whose row for that
-- identity was quarantined: restricted.unread_rows), the last shown state carried
-- over each unread snapshot (carried = true, that snapshot's date and seq), when
-- every snapshot since the state was shown was unread too.
CREATE OR REPLACE MACRO core.carried_over(shown, unread) AS TABLE
SELECT p.* REPLACE (u.extract_date AS extract_date, u.seq AS seq, true AS carried)
FROM query_table(unread) u
JOIN query_table(shown) p ON p.row_key = u.row_key AND p.seq < u.seq
WHERE u.seq - p.seq - 1 = (SELECT count(*) FROM query_table(unread) g
                           WHERE g.row_key = u.row_key AND g.seq > p.seq AND g.seq < u.seq)
QUALIFY row_number() OVER (PARTITION BY u.row_key, u.seq ORDER BY p.seq DESC) = 1;

-- core.registration_spells(registrations, start_type, end_type): periods from the 人社
-- registration events of the relation named registrations (core.registrations).
-- One row per start_type registration (e.g. 就业登记): it starts on its
-- 登记日期 and ends on the first end_type event (e.g. 就业登记注销) of the person
-- dated strictly later; ended NULL = still open. An end with no earlier start in
-- the data closes nothing and makes no spell.
CREATE OR REPLACE MACRO core.registration_spells(registrations, start_type, end_type) AS TABLE
WITH events AS (
    SELECT *, reg_type = end_type AS is_end
    FROM query_table(registrations)
    WHERE reg_type IN (start_type, end_type)
),
paired AS (
    SELECT
        *,
        -- on a tie the end sorts first, so it cannot close a start of the same day
        first_value(CASE WHEN is_end THEN {'ended': reg_date, 'recorded_on': recorded_on} END IGNORE NULLS)
            OVER (PARTITION BY person_key ORDER BY reg_date, is_end DESC
                  ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS closing
    FROM events
)
SELECT
    person_key,
    masked_id,
    employer,
    reg_date AS started,
    closing.ended AS ended,
    recorded_on AS start_recorded_on,
    closing.recorded_on AS end_recorded_on,
    division_code
FROM paired
WHERE NOT is_end;

-- core.states_of(shown, unread): every distinct delivered state, with `seqs` (the sorted seqs
-- of the snapshots that showed it) and `carried_dates` (those whose row was quarantined, the
-- last shown state carried over them: carried_over). shown is the relation of the state
-- columns, seq, extract_date and row_key of first_delivered rows; unread as for carried_over.
-- What the state tables hold (restricted.*_states) and core.history_intervals cuts.
CREATE OR REPLACE MACRO core.states_of(shown, unread) AS TABLE
WITH marked AS (
    SELECT *, false AS carried FROM query_table(shown)
),
delivered AS (
    SELECT * FROM marked
    UNION ALL BY NAME
    SELECT * FROM core.carried_over(marked, unread)
)
SELECT
    * EXCLUDE (seq, extract_date, carried, row_key),
    list_sort(list(seq)) AS seqs,
    coalesce(list_sort(list(extract_date) FILTER (WHERE carried)), []::DATE[]) AS carried_dates
FROM delivered
GROUP BY ALL;

-- core.states_since(kept, shown_since, unread, snapshot_source, key_of): a state table
-- (core.states_of's rows) brought up to date on a month-scoped night. The seqs and carried
-- dates of the snapshots before months_from are kept (those snapshots did not change); every
-- later one is dropped and taken again from the relation named shown_since (the state columns,
-- seq and extract_date of first_delivered rows of the snapshots from months_from); a state
-- left with no seq is gone. A quarantined row from months_from (unread) carries the last state
-- shown before it, which may lie before months_from: that state comes from the kept table
-- (`before`: its latest seq before months_from not itself carried). key_of is the row's
-- identity over the state columns, e.g. (household_id, person_id). The same rows as the
-- full build (warehouse/restricted/restricted_*_states.sql).
CREATE OR REPLACE MACRO core.states_since(kept, shown_since, unread, snapshot_source, key_of) AS TABLE
WITH first_changed AS (
    SELECT coalesce(min(seq), (SELECT coalesce(max(seq), 0) + 1 FROM core.snapshots WHERE source = snapshot_source))
           AS seq
    FROM core.snapshots WHERE source = snapshot_source AND extract_date >= getvariable('months_from')
),
before AS (
    SELECT s.* EXCLUDE (seq, carried_dates), s.seq, n.extract_date, key_of AS row_key
    FROM (SELECT * EXCLUDE (seqs), unnest(seqs) AS seq FROM query_table(kept)
          WHERE key_of IN (SELECT row_key FROM query_table(unread)
                           WHERE seq >= (SELECT seq FROM first_changed))) s
    JOIN core.snapshots n ON n.source = snapshot_source AND n.seq = s.seq
    WHERE s.seq < (SELECT seq FROM first_changed) AND NOT list_contains(s.carried_dates, n.extract_date)
    QUALIFY row_number() OVER (PARTITION BY key_of ORDER BY s.seq DESC) = 1
),
shown AS (
    SELECT *, key_of AS row_key FROM query_table(shown_since)
    UNION ALL BY NAME
    SELECT * FROM before
),
parts AS (
    -- the kept states before months_from, and tonight's from it (before's seqs left out)
    SELECT k.* REPLACE (list_filter(k.seqs, lambda x: x < f.seq) AS seqs,
                        list_filter(k.carried_dates, lambda d: d < getvariable('months_from')) AS carried_dates)
    FROM query_table(kept) k CROSS JOIN first_changed f
    UNION ALL BY NAME
    SELECT t.* REPLACE (list_filter(t.seqs, lambda x: x >= f.seq) AS seqs,
                        list_filter(t.carried_dates, lambda d: d >= getvariable('months_from')) AS carried_dates)
    FROM core.states_of(shown, unread) t CROSS JOIN first_changed f
)
SELECT * EXCLUDE (seqs, carried_dates), list_sort(flatten(list(seqs))) AS seqs,
       list_sort(flatten(list(carried_dates))) AS carried_dates
FROM parts
WHERE len(seqs) > 0
GROUP BY ALL;
