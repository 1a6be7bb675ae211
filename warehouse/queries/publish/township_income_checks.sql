-- Each township's households' income checks (__township, __row, check row).
SELECT t.__township, c.rowid AS __row, c.*
FROM src.core.income_checks c
JOIN (SELECT DISTINCT __township, household_id FROM {household_history}) t
  ON t.household_id = c.household_id
