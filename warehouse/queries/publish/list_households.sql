-- The listed households (高/中) of $as_of with what the list sheet shows of them, ranked per township.
WITH scored AS ({scored}),
member_counts AS (
    SELECT household_id, count(*) AS members FROM core.members_asof($as_of) GROUP BY household_id
)
SELECT
    s.*,
    h.division_code,
    h.category,
    coalesce(nullif(m.members, 0), h.household_size) AS members,
    h.income_per_capita::DOUBLE AS income_per_capita,
    h.check_date,
    l.dibao_standard::DOUBLE AS dibao_standard,
    i.name AS head_name,
    h.head_masked_id
FROM scored s
LEFT JOIN core.households_asof($as_of) h USING (household_id)
LEFT JOIN member_counts m USING (household_id)
LEFT JOIN core.dibao_lines l
  ON l.urban_rural = h.urban_rural AND l.valid_from <= $as_of AND (l.valid_to IS NULL OR l.valid_to > $as_of)
LEFT JOIN restricted.person_identity i ON i.person_key = h.head_key
WHERE s.risk_level IN ('高', '中')
ORDER BY s.township_code, s.risk_score DESC, s.household_id
