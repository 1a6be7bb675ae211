-- core.employment_spells: periods of registered employment from 人社 events.
-- Grain: one row per 就业登记. A spell starts on the 登记日期 of a 就业登记 and
-- ends on the first 就业登记注销 dated strictly later (any employer: outputs.md
-- says a later 注销 closes a 就业登记); ended NULL = still open.
-- Employed on day D: started <= D AND (ended IS NULL OR ended > D).
-- A 注销 with no earlier 就业登记 in the data closes nothing and makes no spell.
CREATE OR REPLACE TABLE core.employment_spells AS
SELECT
    person_key,
    masked_id,
    employer,
    started,
    ended,
    start_recorded_on,
    end_recorded_on,
    division_code
FROM core.registration_spells(core.registrations, '就业登记', '就业登记注销')  -- warehouse/core/history_macros.sql
ORDER BY person_key, started;
