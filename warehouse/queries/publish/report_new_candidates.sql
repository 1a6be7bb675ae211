-- People the latest exported list marked 新增 on some rule (a person found by two rules is one).
SELECT count(DISTINCT person_key) FILTER (WHERE marker = '新增') FROM mart.listed_candidates
WHERE as_of_date = (SELECT max(as_of_date) FROM mart.listed_candidates)
