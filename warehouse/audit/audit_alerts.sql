-- Alerts raised by runs: rejected deliveries, stale sources, failed tasks.
CREATE TABLE IF NOT EXISTS audit.alerts (
    raised_at    TIMESTAMP NOT NULL,
    level        VARCHAR   NOT NULL,  -- error, warning
    kind         VARCHAR   NOT NULL,  -- delivery_rejected, source_stale, task_failed, ...
    source       VARCHAR,
    extract_date DATE,
    message      VARCHAR   NOT NULL   -- one line, never a raw id or name
);
