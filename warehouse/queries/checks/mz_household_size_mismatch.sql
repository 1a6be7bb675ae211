-- 家庭人口数 differs from the number of member rows delivered for the household.
INSERT INTO audit.conflicts
SELECT h.load_id, 'household_size_mismatch', 'mz', h.extract_date, h.file_name, h.line_number,
       h.household_id, mask_id(h.head_id),
       '家庭人口数 ' || h.household_size || ' but ' || coalesce(m.members, 0) || ' member rows'
FROM staging.mz_households h
LEFT JOIN (
    SELECT household_id, count(*) AS members FROM staging.mz_members
    WHERE load_id = $load_id GROUP BY household_id
) m USING (household_id)
WHERE h.load_id = $load_id AND h.household_size <> coalesce(m.members, 0);
