-- mart.risk_list: the caseworkers' risk list, exactly as outputs.md defines it.
-- Grain: one row per scored household per scoring date; lists accumulate across
-- runs and a rerun for a date replaces that date's rows (pipelines.score.risk_list).
-- Scored: every household in the latest mz snapshot with 保障状态 在册 whose
-- 保障类别 is neither 低保 nor 特困.
--   as_of_date     extract date of the latest loaded mz snapshot the score is for
--   county_code    6 digits; township_code: 9 digits (from the household's 行政区划代码)
--   risk_score     0..1: the estimated probability that per-capita monthly income is
--                  below the applicable 低保 standard in some month of the 3 months
--                  after as_of_date (models/README.md says how far that holds)
--   risk_level     高: this month's home visits (the township's top households by
--                  risk_score, as many as its visits that month: its share of the
--                  city's budget, by need); 中: the next as many; 低: the rest and any
--                  score under risk_min_score
--   reasons        reason codes, most important first (mart.reason_codes); never
--                  empty: N_NO_RISK_FACTOR where no rule holds and no factor stands out
CREATE TABLE IF NOT EXISTS mart.risk_list (
    as_of_date    DATE      NOT NULL,
    household_id  VARCHAR   NOT NULL,
    county_code   VARCHAR   NOT NULL,
    township_code VARCHAR   NOT NULL,
    risk_score    DOUBLE    NOT NULL CHECK (risk_score BETWEEN 0 AND 1),
    risk_level    VARCHAR   NOT NULL CHECK (risk_level IN ('高', '中', '低')),
    reasons       VARCHAR[] NOT NULL,
    PRIMARY KEY (as_of_date, household_id)
);
