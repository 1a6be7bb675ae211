-- One row per household a same-date correction changed (pipelines.load.corrections): the
-- corrected value was delivered on received_on, not on the extract date, so history
-- dates what the warehouse knew from then (core.income_checks.first_seen) and the
-- lists already issued for that date are re-issued with 更正 (pipelines.publish.list_corrections).
CREATE TABLE IF NOT EXISTS audit.corrected_rows (
    load_id            VARCHAR   NOT NULL,  -- the correction (audit.deliveries)
    superseded_load_id VARCHAR   NOT NULL,  -- the delivery it replaced
    source             VARCHAR   NOT NULL,  -- mz
    extract_date       DATE      NOT NULL,
    household_id       VARCHAR   NOT NULL,
    changed            VARCHAR[] NOT NULL,  -- the staging columns whose value changed ([] : row added or removed)
    received_on        DATE      NOT NULL   -- the run's date (DIBAO_TODAY) the correction loaded
);
