-- Each township's members of its households, in the times the household lived there (__township, __row, member row).
SELECT t.township_code AS __township, m.rowid AS __row, m.*
FROM src.core.member_history m
JOIN (SELECT DISTINCT household_id, township_code FROM src.core.household_history
      WHERE township_code IS NOT NULL) t ON t.household_id = m.household_id
WHERE EXISTS (SELECT 1 FROM src.core.household_history h
              WHERE h.household_id = m.household_id AND h.township_code = t.township_code
                AND m.valid_from < coalesce(h.valid_to, DATE '9999-12-31')
                AND coalesce(m.valid_to, DATE '9999-12-31') > h.valid_from)
