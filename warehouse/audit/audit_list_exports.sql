-- One row per risk-list file handed out (pipelines.publish.lists.write_lists): who wrote
-- which township's list for which scoring date, when, and how many rows each
-- sheet had. A re-export of the same list adds a row; nothing is overwritten.
CREATE TABLE IF NOT EXISTS audit.list_exports (
    export_id     VARCHAR   NOT NULL,  -- list-<as_of_date>-<12 hex>, one per write_lists call
    as_of_date    DATE      NOT NULL,  -- the scoring date of mart.risk_list the list shows
    issued_on     DATE      NOT NULL,  -- the day deadlines count from
    county_code   VARCHAR   NOT NULL,
    township_code VARCHAR   NOT NULL,
    xlsx_path     VARCHAR   NOT NULL,  -- as written (absolute)
    csv_path      VARCHAR   NOT NULL,  -- the CSV twin of the first sheet
    xlsx_sha256   VARCHAR   NOT NULL,
    households    BIGINT    NOT NULL,  -- rows of sheet 1 (高/中 households)
    candidates    BIGINT    NOT NULL,  -- rows of sheet 2 (discovery candidates)
    departures    BIGINT    NOT NULL,  -- rows of sheet 3 (left the list since the previous one)
    actor         VARCHAR   NOT NULL,  -- the OS user, or who the caller named
    exported_at   TIMESTAMP NOT NULL   -- UTC
);
