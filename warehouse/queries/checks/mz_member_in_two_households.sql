-- A person listed as a member of two households in the same mz snapshot.
INSERT INTO audit.conflicts
SELECT m.load_id, 'member_in_two_households', 'mz', m.extract_date, m.file_name, m.line_number,
       m.household_id, mask_id(m.person_id),
       'member of ' || d.households || ' households in this snapshot: ' || d.ids
FROM staging.mz_members m
JOIN (
    SELECT person_id, count(DISTINCT household_id) AS households,
           string_agg(DISTINCT household_id, ', ' ORDER BY household_id) AS ids
    FROM staging.mz_members WHERE load_id = $load_id
    GROUP BY person_id HAVING count(DISTINCT household_id) > 1
) d USING (person_id)
WHERE m.load_id = $load_id;
