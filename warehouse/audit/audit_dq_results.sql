-- Great Expectations results, one row per expectation per validated file.
CREATE TABLE IF NOT EXISTS audit.dq_results (
    load_id          VARCHAR NOT NULL,
    source           VARCHAR NOT NULL,
    extract_date     DATE    NOT NULL,
    file_name        VARCHAR NOT NULL,
    expectation      VARCHAR NOT NULL,
    column_name      VARCHAR,
    level            VARCHAR NOT NULL,  -- row (quarantines), table (rejects the delivery), warn (reported only)
    success          BOOLEAN NOT NULL,
    unexpected_count BIGINT,
    element_count    BIGINT
);
