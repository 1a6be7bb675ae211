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
-- restricted.household_states: every state of each household with the snapshots that showed it
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
FROM core.history_intervals(restricted.household_states, 'mz', head_id) r
ORDER BY r.household_id, valid_from;
