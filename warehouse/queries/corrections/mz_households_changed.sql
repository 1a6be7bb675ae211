-- Households whose row in the same-date correction $load_id differs from the row of
-- the delivery it supersedes (kept in the temporary table corrected_before).
INSERT INTO audit.corrected_rows
WITH before AS (SELECT * EXCLUDE (load_id, file_name, line_number) FROM corrected_before),
after AS (
    SELECT * EXCLUDE (load_id, file_name, line_number) FROM staging.mz_households WHERE load_id = $load_id
),
paired AS (
    SELECT coalesce(a.household_id, b.household_id) AS household_id,
           a.household_id IS NULL OR b.household_id IS NULL AS added_or_removed,
           list_filter(
               ['head_id', 'head_name', 'division_code', 'urban_rural', 'category', 'status',
                'household_size', 'income_per_capita', 'check_date', 'benefit_amount', 'granted_date'],
               lambda c, i: [a.head_id, a.head_name, a.division_code, a.urban_rural, a.category, a.status,
                             a.household_size::VARCHAR, a.income_per_capita::VARCHAR, a.check_date::VARCHAR,
                             a.benefit_amount::VARCHAR, a.granted_date::VARCHAR][i]
                   IS DISTINCT FROM
                   [b.head_id, b.head_name, b.division_code, b.urban_rural, b.category, b.status,
                    b.household_size::VARCHAR, b.income_per_capita::VARCHAR, b.check_date::VARCHAR,
                    b.benefit_amount::VARCHAR, b.granted_date::VARCHAR][i]) AS changed
    FROM after a FULL JOIN before b ON a.household_id = b.household_id
)
SELECT $load_id, $superseded, 'mz', $extract_date, household_id,
       CASE WHEN added_or_removed THEN []::VARCHAR[] ELSE changed END, $received_on
FROM paired
WHERE added_or_removed OR len(changed) > 0;
