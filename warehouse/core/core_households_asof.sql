-- core.households_asof(d): every row of core.household_history valid on day d,
-- i.e. as the latest snapshot on or before d showed it. d is a DATE or
-- 'YYYY-MM-DD'. Grain: one row per household listed then.
CREATE OR REPLACE MACRO core.households_asof(d) AS TABLE
SELECT *
FROM core.household_history
WHERE valid_from <= d::DATE AND (valid_to IS NULL OR valid_to > d::DATE);
