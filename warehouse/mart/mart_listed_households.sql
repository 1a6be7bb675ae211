-- What each risk list told caseworkers: one row per household per exported
-- list (scoring date). Written by pipelines.publish.lists.write_lists, replaced when the
-- list of the same date is exported again. The next list compares with it
-- (新增 / 升级 / 持续, who left), feedback is matched to it, and the run report
-- counts completed and overdue checks from it (mart.followup_status).
CREATE TABLE IF NOT EXISTS mart.listed_households (
    as_of_date    DATE    NOT NULL,  -- scoring date of the list
    issued_on     DATE    NOT NULL,  -- the day deadlines count from
    county_code   VARCHAR NOT NULL,
    township_code VARCHAR NOT NULL,
    household_id  VARCHAR NOT NULL,
    list_rank     INTEGER NOT NULL,  -- 1 = highest score in the township's list
    risk_score    DOUBLE  NOT NULL,
    risk_level    VARCHAR NOT NULL,  -- 高, 中
    reasons       VARCHAR[],         -- reason codes as in mart.risk_list
    marker        VARCHAR NOT NULL,  -- 新增, 升级, 持续 against the previous list
    action        VARCHAR NOT NULL,  -- suggested action (parameters/outputs/check_rules.yaml)
    time_limit    VARCHAR NOT NULL,  -- e.g. 24小时, 3个工作日
    deadline      DATE    NOT NULL,  -- the check is due by the end of this day
    export_id     VARCHAR NOT NULL   -- audit.list_exports
);
