-- Each township's scored households' score details (__township, __row, detail row).
SELECT r.__township, d.rowid AS __row, d.*
FROM src.mart.risk_list_detail d
JOIN (SELECT DISTINCT __township, as_of_date, household_id FROM {risk_list}) r
  ON r.as_of_date = d.as_of_date AND r.household_id = d.household_id
