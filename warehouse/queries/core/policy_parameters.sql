-- core.policy_parameters: the values of parameters/*.yaml, replaced on every core build
-- by pipelines.core.parameters.load_parameters (docs/data-dictionary.md).
CREATE OR REPLACE TABLE core.policy_parameters (
    parameter   VARCHAR       NOT NULL,  -- file name under parameters/ without .yaml
    region_code VARCHAR       NOT NULL,  -- 371500 = the whole city
    urban_rural VARCHAR,                 -- 城市 / 农村; NULL when the parameter does not differ by it
    grade       VARCHAR,                 -- 一级..四级; NULL when the parameter does not differ by it
    amount      DECIMAL(12,4) NOT NULL,  -- in unit
    unit        VARCHAR       NOT NULL,  -- e.g. 元/人·月
    valid_from  DATE          NOT NULL,  -- inclusive
    valid_to    DATE,                    -- exclusive; NULL = still in force
    source      VARCHAR       NOT NULL   -- where this value comes from (illustrative values say so)
)
