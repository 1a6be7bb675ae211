-- Per exported list (scoring date): households listed, marked 新增 or 升级.
SELECT as_of_date, count(*), count(*) FILTER (WHERE marker IN ('新增', '升级'))
FROM mart.listed_households GROUP BY as_of_date
