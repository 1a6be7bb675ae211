-- Per scoring date, oldest first: households scored, at 高, at 中.
SELECT as_of_date, count(*), count(*) FILTER (WHERE risk_level = '高'), count(*) FILTER (WHERE risk_level = '中')
FROM mart.risk_list GROUP BY as_of_date ORDER BY as_of_date
