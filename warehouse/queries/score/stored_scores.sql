-- $as_of's list as it was written (pipelines/score/rescore.py): each household's row of
-- mart.risk_list and the detail it was decided on, as mart.risk_list_detail stored them.
SELECT r.household_id, r.county_code, r.township_code, r.risk_score, r.risk_level, r.reasons,
       d.rank_in_township, d.visits_per_township AS township_visits, d.rule_flags,
       d.features::VARCHAR AS stored_features, d.contributions::VARCHAR AS stored_contributions
FROM mart.risk_list r JOIN mart.risk_list_detail d USING (as_of_date, household_id)
WHERE r.as_of_date = $as_of
