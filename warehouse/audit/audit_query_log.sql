-- One row per `dibao query` (pipelines/publish/access_log.py): who asked what, when,
-- from which file, and what came of it. Queries read a published copy while the
-- nightly run may hold the warehouse, so each query appends a JSON line to the
-- access log beside the warehouse; every run imports the new lines here, once
-- each (query_id). Result rows are never logged. Administrators only: the SQL
-- text may name a person (the analyst copy leaves this table out).
CREATE TABLE IF NOT EXISTS audit.query_log (
    query_id      VARCHAR   NOT NULL,  -- 32 hex, made by the querying process
    queried_at    TIMESTAMP NOT NULL,  -- UTC
    os_user       VARCHAR,             -- the effective uid's user name (not $USER)
    uid           INTEGER,
    role          VARCHAR,             -- admin, analyst, caseworker: the file asked for
    township_code VARCHAR,             -- caseworker queries
    file_read     VARCHAR,             -- the DuckDB file opened
    sql_text      VARCHAR,             -- as given (cut at 20,000 characters)
    sql_sha256    VARCHAR,             -- of the whole text
    status        VARCHAR,             -- ok, refused (not read-only, or the file cannot be opened), error
    rows          BIGINT,              -- rows returned (ok)
    message       VARCHAR,             -- the one-line error (refused, error)
    pid           INTEGER,
    host          VARCHAR,
    imported_at   TIMESTAMP NOT NULL   -- UTC, by the nightly run
);
