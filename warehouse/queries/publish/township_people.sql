-- Each township's people (members, heads, residents, candidates): __township, __row (0), key, masked id, name, birth date, sex.
SELECT k.__township, 0 AS __row, i.person_key, i.masked_id, i.name, p.birth_date, p.sex
FROM src.restricted.person_identity i
LEFT JOIN src.core.persons p USING (person_key)
JOIN (SELECT DISTINCT __township, person_key FROM (
          SELECT __township, person_key FROM {member_history}
          UNION ALL SELECT __township, head_key FROM {household_history}
          UNION ALL SELECT __township, person_key FROM {persons}
          UNION ALL SELECT __township, person_key FROM {discovery_candidates})
      ) k ON k.person_key = i.person_key
