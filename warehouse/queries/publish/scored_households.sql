-- The scored households of $as_of, one row each (its highest score): id, county, township, score, level, reasons.
SELECT household_id, county_code, township_code, risk_score, risk_level, reasons
FROM mart.risk_list
WHERE as_of_date = $as_of
QUALIFY row_number() OVER (PARTITION BY household_id ORDER BY risk_score DESC) = 1
