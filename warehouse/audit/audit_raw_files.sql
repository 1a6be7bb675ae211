-- The raw layer's files (issue #17): one row per data file of a loaded delivery,
-- its rows as delivered kept once, in the staged Parquet file archived under
-- <warehouse>.raw/<load_id>/<stem>.parquet (pipelines/load/raw_archive.py). The
-- raw.<file> views read the files of the deliveries whose status is 'loaded'.
-- Written in the load's transaction: a file without a row here is a crash's
-- leftover, never read. Restricted: the files hold raw 身份证号 and names.
CREATE TABLE IF NOT EXISTS audit.raw_files (
    load_id      VARCHAR NOT NULL,  -- audit.deliveries.load_id
    source       VARCHAR NOT NULL,
    extract_date DATE    NOT NULL,
    file_name    VARCHAR NOT NULL,  -- as delivered, with extension
    raw_view     VARCHAR NOT NULL,  -- raw.<file> that reads it
    path         VARCHAR NOT NULL,  -- absolute; moved with the warehouse's folder on its next open for writing
    rows         BIGINT  NOT NULL   -- = audit.load_ledger.rows_read of the file
);
