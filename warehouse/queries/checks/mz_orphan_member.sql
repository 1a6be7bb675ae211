-- A members row whose household is not in the same snapshot (never delivered
-- or quarantined): the member loads, the orphan is recorded.
INSERT INTO audit.conflicts
SELECT m.load_id, 'orphan_member', 'mz', m.extract_date, m.file_name, m.line_number,
       m.household_id, mask_id(m.person_id),
       'household ' || m.household_id || ' has no loaded row in this snapshot (not delivered, or its row quarantined)'
FROM staging.mz_members m
WHERE m.load_id = $load_id
  AND m.household_id NOT IN (SELECT household_id FROM staging.mz_households WHERE load_id = $load_id);
