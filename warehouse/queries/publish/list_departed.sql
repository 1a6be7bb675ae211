-- The previous list's households with what explains their leaving: status now, level now, rechecks, members gone.
WITH scored AS ({scored}),
gone AS (
    SELECT * FROM mart.listed_households WHERE as_of_date = $previous
),
rechecks AS (
    -- the latest income check first reported after the previous list
    SELECT household_id, arg_max({{'day': check_date, 'income': income_per_capita, 'standard': dibao_standard,
                                   'below': below_standard}}, check_date) AS c
    FROM core.income_checks
    WHERE first_seen > $previous AND first_seen <= $as_of
    GROUP BY household_id
),
members_gone AS (
    SELECT household_id, count(*) AS n
    FROM core.change_events
    WHERE kind = 'member_died_or_left' AND seen_date > $previous AND seen_date <= $as_of
    GROUP BY household_id
)
SELECT
    g.household_id, g.county_code, g.township_code, g.risk_level AS previous_level,
    i.name AS head_name, was.head_masked_id, was.division_code,
    now.status, now.category, now.township_code AS now_township, now.granted_date,
    s.risk_level AS now_level, s.risk_score AS now_score,
    r.c.day AS recheck_date, r.c.income::DOUBLE AS recheck_income, r.c.standard::DOUBLE AS recheck_standard,
    r.c.below AS recheck_below,
    coalesce(mg.n, 0) AS members_gone
FROM gone g
LEFT JOIN core.households_asof($previous) was USING (household_id)
LEFT JOIN restricted.person_identity i ON i.person_key = was.head_key
LEFT JOIN core.households_asof($as_of) now USING (household_id)
LEFT JOIN scored s USING (household_id)
LEFT JOIN rechecks r USING (household_id)
LEFT JOIN members_gone mg USING (household_id)
ORDER BY g.township_code, g.list_rank
