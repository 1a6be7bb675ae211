-- core.unemployment_spells: periods of registered unemployment from 人社 events.
-- Grain: one row per 失业登记. A spell starts on the 登记日期 of a 失业登记 and
-- ends on the first 失业登记注销 dated strictly later; ended NULL = still open.
-- Registered unemployed on day D: started <= D AND (ended IS NULL OR ended > D).
CREATE OR REPLACE TABLE core.unemployment_spells AS
SELECT
    person_key,
    masked_id,
    started,
    ended,
    start_recorded_on,
    end_recorded_on,
    division_code
FROM core.registration_spells(core.registrations, '失业登记', '失业登记注销')  -- warehouse/core/history_macros.sql
ORDER BY person_key, started;
