-- $as_of's list as it was written (pipelines/score/rescore.py): each household's score, and the
-- model features and group contributions it was scored on, as mart.risk_list_detail stored them.
SELECT r.household_id, r.risk_score, d.features::VARCHAR AS stored_features,
       d.contributions::VARCHAR AS stored_contributions
FROM mart.risk_list r JOIN mart.risk_list_detail d USING (as_of_date, household_id)
WHERE r.as_of_date = $as_of
