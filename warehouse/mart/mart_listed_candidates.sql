-- The discovery candidates each exported list showed on its second sheet: one
-- row per person, rule and exported list (scoring date). Lets the next list mark
-- a candidate 新增 or 持续. person_key is the keyed hash, never the 身份证号.
CREATE TABLE IF NOT EXISTS mart.listed_candidates (
    as_of_date    DATE    NOT NULL,
    county_code   VARCHAR NOT NULL,
    township_code VARCHAR NOT NULL,
    person_key    VARCHAR NOT NULL,
    rule          VARCHAR NOT NULL,  -- mart.discovery_candidates.rule
    marker        VARCHAR NOT NULL,  -- 新增, 持续
    action        VARCHAR NOT NULL,
    time_limit    VARCHAR NOT NULL,
    deadline      DATE    NOT NULL,
    export_id     VARCHAR NOT NULL
);
