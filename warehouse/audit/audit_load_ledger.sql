-- One row per file of every delivery that was attempted (outputs.md).
-- For a loaded file: rows_read = rows_loaded + rows_quarantined.
CREATE TABLE IF NOT EXISTS audit.load_ledger (
    load_id          VARCHAR   NOT NULL,
    source           VARCHAR   NOT NULL,
    extract_date     DATE      NOT NULL,
    file_name        VARCHAR   NOT NULL,  -- as delivered, with extension
    rows_read        BIGINT    NOT NULL,  -- data rows (blank lines are not rows), duplicates included
    rows_loaded      BIGINT    NOT NULL,
    rows_quarantined BIGINT    NOT NULL,  -- rows, not cells
    status           VARCHAR   NOT NULL,  -- loaded, rejected, superseded, skipped_duplicate
    loaded_at        TIMESTAMP NOT NULL,
    file_sha256      VARCHAR,
    encoding         VARCHAR,             -- utf-8, utf-8-sig, gb18030, xlsx
    rows_repaired    BIGINT,              -- loaded rows with at least one repaired cell
    message          VARCHAR
);
