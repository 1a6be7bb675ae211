-- One row per caseworker feedback file attempted (pipelines.ingest.feedback): the
-- feedback counterpart of audit.load_ledger. A file is loaded once by content:
-- the same bytes again are skipped_duplicate. For a loaded file
-- rows_read = rows_loaded + rows_quarantined + rows_skipped.
CREATE TABLE IF NOT EXISTS audit.feedback_loads (
    load_id          VARCHAR   NOT NULL,  -- feedback-<YYYYMMDD>-<first 10 hex of the content hash>
    file_name        VARCHAR   NOT NULL,  -- as returned, with extension
    file_path        VARCHAR   NOT NULL,
    file_sha256      VARCHAR,             -- NULL when the file could not be read at all
    rows_read        BIGINT    NOT NULL,  -- data rows (blank rows are not rows)
    rows_loaded      BIGINT    NOT NULL,
    rows_quarantined BIGINT    NOT NULL,  -- rows, not cells (cells are in audit.quarantine, source 'feedback')
    rows_skipped     BIGINT    NOT NULL,  -- rows with neither 核查结果 nor 核查日期: not checked yet
    status           VARCHAR   NOT NULL,  -- loaded, rejected, skipped_duplicate
    message          VARCHAR,             -- why rejected or skipped, one line
    actor            VARCHAR   NOT NULL,
    loaded_at        TIMESTAMP NOT NULL   -- UTC
);
