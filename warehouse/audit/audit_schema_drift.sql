-- Columns a file had that the contract does not name (ignored), or optional
-- columns it lacked (loaded as empty).
CREATE TABLE IF NOT EXISTS audit.schema_drift (
    load_id      VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    extract_date DATE    NOT NULL,
    file_name    VARCHAR NOT NULL,
    column_name  VARCHAR NOT NULL,
    drift        VARCHAR NOT NULL  -- extra_column, missing_optional_column, extra_file
);
