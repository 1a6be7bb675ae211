-- Households a correction loaded after the latest export of the list of $as_of changed
-- (a correction of a delivery up to that date); empty when the list is still right.
SELECT DISTINCT c.household_id
FROM audit.corrected_rows c
JOIN audit.deliveries d ON d.load_id = c.load_id AND d.status = 'loaded'
WHERE c.extract_date <= $as_of
  AND d.attempted_at > (SELECT max(exported_at) FROM audit.list_exports WHERE as_of_date = $as_of);
