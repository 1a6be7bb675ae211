-- Discovery candidates the latest exported list marked 新增.
SELECT count(*) FILTER (WHERE marker = '新增') FROM mart.listed_candidates
WHERE as_of_date = (SELECT max(as_of_date) FROM mart.listed_candidates)
