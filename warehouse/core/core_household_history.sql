-- core.household_history: each mz household's delivered state as validity
-- intervals. Grain: one row per 家庭编号 per interval in which none of its
-- delivered attributes changed.
-- valid_from (inclusive) = the first snapshot that showed this state;
-- valid_to (exclusive) = the first later snapshot that showed another state or
-- no longer listed the household; NULL = still so in the latest snapshot. A
-- snapshot whose row for the household was quarantined neither ends nor changes
-- the interval: the last known state is carried over it and the date is listed in
-- unknown_on; the household exits only when absent from a loaded snapshot.
-- As of day D: valid_from <= D AND (valid_to IS NULL OR valid_to > D), which is
-- what core.households_asof(D) returns. The source's own dates (认定日期,
-- 核对日期) are columns; core.change_events dates the changes.
-- A 家庭编号 delivered twice in one snapshot keeps its first row: the copy is a
-- delivery defect, not a second household (one households file per delivery and
-- one loaded delivery per date, so the line number orders the copies).
CREATE OR REPLACE TABLE core.household_history AS
WITH shown AS (
    -- first_delivered, carried_over and history_intervals: warehouse/core/history_macros.sql
    SELECT *, household_id AS row_key, false AS carried
    FROM core.first_delivered(staging.mz_households, 'mz', household_id)
),
unread AS (
    SELECT extract_date, seq, household_id AS row_key FROM restricted.unread_rows WHERE file = 'households'
),
delivered AS (
    -- a quarantined row is not an exit: the last shown state holds over it
    SELECT * FROM shown
    UNION ALL BY NAME
    SELECT * FROM core.carried_over(shown, unread)
),
states AS (
    -- every distinct state of each household, with the snapshots that showed it
    SELECT
        household_id, head_id, division_code, urban_rural, category, status, household_size,
        income_per_capita, check_date, coalesce(benefit_amount, 0) AS benefit_amount, granted_date,
        list_sort(list(seq)) AS seqs,
        list_sort(list(extract_date) FILTER (WHERE carried)) AS carried_dates
    FROM delivered
    GROUP BY ALL
)
SELECT
    r.household_id,
    r.valid_from,
    r.valid_to,
    r.last_seen,                                            -- the last snapshot that showed this state
    r.person_key AS head_key,
    r.masked_id AS head_masked_id,
    r.division_code,
    left(r.division_code, 6) AS county_code,
    left(r.division_code, 9) AS township_code,
    r.urban_rural,
    r.category,
    r.status,
    r.household_size,                                       -- 家庭人口数 as declared
    r.income_per_capita,
    r.check_date,
    r.benefit_amount,                                       -- empty was delivered as 0 (sources.md)
    r.granted_date,
    -- snapshots of this interval whose row was quarantined: the state shown is the
    -- last known one carried over, unknown on those dates (restricted.unread_rows)
    coalesce(list_filter(r.carried_dates, lambda d: d BETWEEN r.valid_from AND r.last_seen),
             []::DATE[]) AS unknown_on
FROM core.history_intervals(states, 'mz', head_id) r
ORDER BY r.household_id, valid_from;
