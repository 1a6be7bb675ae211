-- Households on the previous list that the list of as_of_date no longer shows,
-- and why: one row per household per exported list (its third sheet), so nobody
-- is dropped silently. reason is one of 纳入低保, 纳入特困, 退出保障, 退出名册,
-- 迁出, 核查不符合条件, 收入回升, 成员变动, 风险降低, 不在评分范围
-- (docs/outputs.md explains each).
CREATE TABLE IF NOT EXISTS mart.list_departures (
    as_of_date          DATE    NOT NULL,  -- the list they left
    previous_as_of_date DATE    NOT NULL,  -- the list that still showed them
    county_code         VARCHAR NOT NULL,  -- of the previous list
    township_code       VARCHAR NOT NULL,
    household_id        VARCHAR NOT NULL,
    previous_level      VARCHAR NOT NULL,
    reason              VARCHAR NOT NULL,
    detail              VARCHAR,           -- the facts behind the reason, short Chinese
    export_id           VARCHAR NOT NULL
);
