-- How many households are overdue on their latest listing (older misses are not owed now).
SELECT count(*) FROM ({recent}) r
WHERE status = '逾期'
  AND as_of_date = (SELECT max(as_of_date) FROM mart.listed_households l WHERE l.household_id = r.household_id)
