-- restricted.household_states on a month-scoped night (lifecycle.toml [since]): the seqs and
-- carried dates of the mz snapshots before months_from are kept (those snapshots did not
-- change), every later one is dropped and taken again from staging's household rows of the
-- snapshots from months_from; a state left with no seq is gone. A quarantined row from
-- months_from carries the last state shown before it, which may be older than months_from:
-- that state is taken from the kept table (`before`). The same rows as the full build
-- (warehouse/restricted/restricted_household_states.sql).
CREATE OR REPLACE TEMP VIEW mz_households_since AS
SELECT * FROM staging.mz_households WHERE extract_date >= getvariable('months_from');
CREATE OR REPLACE TABLE restricted.household_states AS
WITH first_changed AS (
    SELECT coalesce(min(seq), (SELECT coalesce(max(seq), 0) + 1 FROM core.snapshots WHERE source = 'mz')) AS seq
    FROM core.snapshots WHERE source = 'mz' AND extract_date >= getvariable('months_from')
),
unread AS (
    SELECT extract_date, seq, household_id AS row_key
    FROM restricted.unread_rows WHERE file = 'households'
),
new_shown AS (
    SELECT *, household_id AS row_key, false AS carried
    FROM core.first_delivered(mz_households_since, 'mz', household_id)
),
before AS (
    -- the last state each household with a quarantined row from months_from showed before them
    SELECT s.* EXCLUDE (seq, carried_dates), s.household_id AS row_key, false AS carried, s.seq, n.extract_date
    FROM (SELECT * EXCLUDE (seqs), unnest(seqs) AS seq FROM restricted.household_states
          WHERE household_id IN (SELECT row_key FROM unread WHERE seq >= (SELECT seq FROM first_changed))) s
    JOIN core.snapshots n ON n.source = 'mz' AND n.seq = s.seq
    WHERE s.seq < (SELECT seq FROM first_changed) AND NOT list_contains(s.carried_dates, n.extract_date)
    QUALIFY row_number() OVER (PARTITION BY s.household_id ORDER BY s.seq DESC) = 1
),
shown AS (
    SELECT * FROM new_shown
    UNION ALL BY NAME
    SELECT * FROM before
),
delivered AS (
    SELECT * FROM new_shown
    UNION ALL BY NAME
    SELECT * FROM core.carried_over(shown, unread) WHERE seq >= (SELECT seq FROM first_changed)
),
parts AS (
    SELECT s.* REPLACE (list_filter(s.seqs, lambda x: x < f.seq) AS seqs,
                        list_filter(s.carried_dates, lambda d: d < getvariable('months_from')) AS carried_dates)
    FROM restricted.household_states s CROSS JOIN first_changed f
    UNION ALL BY NAME
    SELECT household_id, head_id, division_code, urban_rural, category, status, household_size,
           income_per_capita, check_date, coalesce(benefit_amount, 0) AS benefit_amount, granted_date,
           list(seq) AS seqs,
           coalesce(list(extract_date) FILTER (WHERE carried), []::DATE[]) AS carried_dates
    FROM delivered
    GROUP BY ALL
)
SELECT * EXCLUDE (seqs, carried_dates), list_sort(flatten(list(seqs))) AS seqs,
       list_sort(flatten(list(carried_dates))) AS carried_dates
FROM parts
WHERE len(seqs) > 0
GROUP BY ALL;
DROP VIEW mz_households_since
