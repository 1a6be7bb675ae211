-- mart.risk_list_detail: how each mart.risk_list row was computed, so any past
-- list can be explained and reproduced when a decision is questioned.
-- Grain: one row per mart.risk_list row (same key), replaced with it on a rerun.
--   model_version         the registry entry (models folder registry.json) that scored it
--   visits_per_township   this township's visits that month, the capacity its levels were
--                         cut at (its share of the city's budget: pipelines.score.risk_list)
--   rank_in_township      1 = highest risk_score in the township that day
--   features              every feature value the model was given (JSON object)
--   contributions         per model reason code: predicted probability minus the
--                         probability with that group at its reference values
--   rule_flags            the rule reason codes that held
CREATE TABLE IF NOT EXISTS mart.risk_list_detail (
    as_of_date          DATE      NOT NULL,
    household_id        VARCHAR   NOT NULL,
    model_version       VARCHAR   NOT NULL,
    visits_per_township INTEGER   NOT NULL,
    rank_in_township    INTEGER   NOT NULL,
    features            JSON      NOT NULL,
    contributions       JSON      NOT NULL,
    rule_flags          VARCHAR[] NOT NULL,
    scored_at           TIMESTAMP NOT NULL,
    PRIMARY KEY (as_of_date, household_id)
);
