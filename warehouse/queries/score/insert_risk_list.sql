-- The scored households (the registered frame scored_rows) into mart.risk_list.
INSERT INTO mart.risk_list
SELECT as_of_date, household_id, county_code, township_code, risk_score, risk_level, reasons
FROM scored_rows
