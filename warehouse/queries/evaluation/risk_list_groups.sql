-- The risk list of $d with the baseline and the groups, from the warehouse as of the list's date.
WITH households AS (SELECT * FROM core.households_asof($d)),
disabled AS (
    SELECT DISTINCT m.household_id
    FROM core.members_asof($d) m
    JOIN core.certificates_asof($d) c ON c.person_key = m.person_key AND c.cert_status = '有效'
)
SELECT
    r.household_id, r.county_code, r.township_code, r.risk_score, r.risk_level,
    h.urban_rural,
    h.income_per_capita::DOUBLE / core.dibao_standard_on(h.urban_rural, $d)::DOUBLE
        AS assessed_ratio,
    d.household_id IS NOT NULL AS disabled_member
FROM mart.risk_list r
JOIN households h USING (household_id)
LEFT JOIN disabled d USING (household_id)
WHERE r.as_of_date = $d
ORDER BY r.household_id
