-- The discovery candidates of the scoring date with where they live, per township in list order.
SELECT d.person_key, d.masked_id, d.name, d.county_code, d.township_code, d.rule, d.evidence,
       p.residence_code
FROM mart.discovery_candidates d
LEFT JOIN core.persons p USING (person_key)
WHERE d.as_of_date = ?
ORDER BY d.township_code, d.rule <> '急难', d.rule, d.priority
