-- Each township's change events: of its households, or of its people when no household is named (__township, __row, event row).
SELECT t.__township, e.rowid AS __row, e.*
FROM src.core.change_events e
JOIN (SELECT DISTINCT __township, household_id FROM {household_history}) t
  ON t.household_id = e.household_id
UNION ALL
SELECT t.__township, e.rowid AS __row, e.*
FROM src.core.change_events e
JOIN (SELECT DISTINCT __township, person_key FROM {people}) t
  ON e.household_id IS NULL AND t.person_key = e.person_key
