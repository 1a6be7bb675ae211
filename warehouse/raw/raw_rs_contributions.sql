-- rs/contributions: every data row exactly as delivered (cell text), one row per
-- delivered line, quarantined rows included, so any quarantine or repair can be
-- traced back to what the agency sent. Restricted: holds raw 身份证号 and names.
-- Each row is written once (issue #17): since then the delivery's staged Parquet file
-- is kept under <warehouse>.raw/<load_id>/ (pipelines/load/raw_archive.py, listed in
-- audit.raw_files) and raw.rs_contributions is a view over raw.rs_contributions_pre_archive, the table
-- the rows loaded before then stay in (empty on a warehouse created since), and
-- those files. On a warehouse of the old layout this renames its table; do not edit:
-- a later change is a new migration.
CREATE TABLE IF NOT EXISTS raw.rs_contributions (
    load_id      VARCHAR NOT NULL,  -- audit.deliveries.load_id
    extract_date DATE    NOT NULL,  -- 数据截止日期 of the delivery
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT  NOT NULL,  -- header = 1
    person_id     VARCHAR,  -- 身份证号
    contrib_month VARCHAR,  -- 缴费年月
    insurance     VARCHAR,  -- 险种
    contrib_base  VARCHAR,  -- 缴费基数
    employer      VARCHAR   -- 单位名称
);
ALTER TABLE raw.rs_contributions RENAME TO rs_contributions_pre_archive;
CREATE VIEW raw.rs_contributions AS SELECT * FROM raw.rs_contributions_pre_archive;
