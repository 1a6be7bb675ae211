-- restricted.household_states on a month-scoped night (lifecycle.toml [since]): the snapshots
-- from months_from taken again from staging's household rows, the earlier ones kept
-- (core.states_since, warehouse/core/history_macros.sql). The same rows as the full build
-- (warehouse/restricted/restricted_household_states.sql).
CREATE OR REPLACE TEMP VIEW mz_households_since AS
SELECT * FROM staging.mz_households WHERE extract_date >= getvariable('months_from');
CREATE OR REPLACE TABLE restricted.household_states AS
WITH shown_since AS (
    SELECT household_id, head_id, division_code, urban_rural, category, status, household_size,
           income_per_capita, check_date, coalesce(benefit_amount, 0) AS benefit_amount, granted_date,
           seq, extract_date
    FROM core.first_delivered(mz_households_since, 'mz', household_id)
),
unread AS (
    SELECT extract_date, seq, household_id AS row_key FROM restricted.unread_rows WHERE file = 'households'
)
SELECT * FROM core.states_since(restricted.household_states, shown_since, unread, 'mz', household_id);
DROP VIEW mz_households_since
