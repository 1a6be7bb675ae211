-- Per exported list (scoring date): discovery candidates shown, marked 新增.
SELECT as_of_date, count(*), count(*) FILTER (WHERE marker = '新增')
FROM mart.listed_candidates GROUP BY as_of_date
