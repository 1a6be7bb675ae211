-- The scored households' details (scored_rows) into mart.risk_list_detail: model version, written at.
INSERT INTO mart.risk_list_detail
SELECT as_of_date, household_id, ?, township_visits, rank_in_township, features::JSON,
       contributions::JSON, rule_flags, ?
FROM scored_rows
