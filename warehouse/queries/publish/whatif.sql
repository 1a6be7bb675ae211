-- What-if 低保 standards per county (pipelines/publish/whatif.py): households under
-- today's and the proposed line and the monthly 补差, on the mz snapshot $as_of.
-- Counted: 在册 households of any 保障类别 but 特困, with an assessed income.
-- The split (issue 19): households already on 低保 whose 补差 rises with the
-- standard ("benefit rises"), and households not on 低保 that the proposed line
-- puts under it while today's does not ("newly eligible", their whole 补差).
WITH member_counts AS (
    SELECT household_id, count(*) AS n FROM core.members_asof($as_of) GROUP BY household_id
),
households AS (
    SELECT
        h.county_code,
        h.category = '低保' AS on_dibao,
        h.income_per_capita::DOUBLE AS income,
        coalesce(nullif(m.n, 0), h.household_size) AS persons,
        l.dibao_standard::DOUBLE AS line_today,
        coalesce(CASE h.urban_rural WHEN '城市' THEN $city WHEN '农村' THEN $rural END,
                 l.dibao_standard)::DOUBLE AS line_proposed
    FROM core.households_asof($as_of) h
    LEFT JOIN member_counts m USING (household_id)
    LEFT JOIN core.dibao_lines l
      ON l.urban_rural = h.urban_rural AND l.valid_from <= $as_of AND (l.valid_to IS NULL OR l.valid_to > $as_of)
    WHERE h.status = '在册' AND h.category <> '特困'
),
gaps AS (
    SELECT *,
           greatest(line_today - income, 0) AS gap_today,
           greatest(line_proposed - income, 0) AS gap_proposed
    FROM households
)
SELECT
    county_code,
    count(*) FILTER (WHERE income IS NOT NULL) AS households_assessed,
    count(*) FILTER (WHERE income IS NULL) AS households_unassessed,
    coalesce(sum(persons) FILTER (WHERE income IS NOT NULL), 0) AS persons_assessed,
    count(*) FILTER (WHERE income < line_today) AS households_below_today,
    coalesce(sum(persons) FILTER (WHERE income < line_today), 0) AS persons_below_today,
    count(*) FILTER (WHERE income < line_proposed) AS households_below_proposed,
    coalesce(sum(persons) FILTER (WHERE income < line_proposed), 0) AS persons_below_proposed,
    count(*) FILTER (WHERE income < line_proposed AND income >= line_today) AS households_newly_below,
    coalesce(sum(persons) FILTER (WHERE income < line_proposed AND income >= line_today), 0) AS persons_newly_below,
    coalesce(sum((line_today - income) * persons) FILTER (WHERE income < line_today), 0) AS monthly_cost_today,
    coalesce(sum((line_proposed - income) * persons) FILTER (WHERE income < line_proposed), 0)
        AS monthly_cost_proposed,
    count(*) FILTER (WHERE on_dibao AND gap_proposed > gap_today) AS dibao_households_benefit_rises,
    coalesce(sum(persons) FILTER (WHERE on_dibao AND gap_proposed > gap_today), 0) AS dibao_persons_benefit_rises,
    -- the same households as the count: a lower standard lowers 补差, and that is no rise
    coalesce(sum((gap_proposed - gap_today) * persons) FILTER (WHERE on_dibao AND gap_proposed > gap_today), 0)
        AS monthly_cost_benefit_rises,
    count(*) FILTER (WHERE NOT on_dibao AND income < line_proposed AND income >= line_today)
        AS households_newly_eligible,
    coalesce(sum(persons) FILTER (WHERE NOT on_dibao AND income < line_proposed AND income >= line_today), 0)
        AS persons_newly_eligible,
    coalesce(sum(gap_proposed * persons) FILTER (WHERE NOT on_dibao AND income < line_proposed
                                                 AND income >= line_today), 0) AS monthly_cost_newly_eligible
FROM gaps
GROUP BY county_code
ORDER BY county_code
