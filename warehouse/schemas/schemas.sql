-- Layers of the warehouse, in the order data flows through them.
-- raw, staging and restricted hold raw 身份证号 and names: restricted schemas,
-- opened only by the pipeline and administrators. audit holds raw values of
-- quarantined cells and is restricted to the data team.
CREATE SCHEMA IF NOT EXISTS raw;         -- every delivered data row as delivered (text), with lineage
CREATE SCHEMA IF NOT EXISTS staging;     -- rows that passed repair and validation, typed, with lineage
CREATE SCHEMA IF NOT EXISTS restricted;  -- identity map: person_key <-> 身份证号
CREATE SCHEMA IF NOT EXISTS core;        -- linked persons and households, history as validity intervals
CREATE SCHEMA IF NOT EXISTS mart;        -- what officials and caseworkers query; masked ids only
CREATE SCHEMA IF NOT EXISTS audit;       -- ledger, quarantine, repairs, conflicts, data quality, alerts
