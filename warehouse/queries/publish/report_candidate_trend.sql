-- Per exported list (scoring date): people shown as discovery candidates, and those marked
-- 新增 on some rule (a person found by two rules is one, as in the summary's count).
SELECT as_of_date, count(DISTINCT person_key), count(DISTINCT person_key) FILTER (WHERE marker = '新增')
FROM mart.listed_candidates GROUP BY as_of_date
