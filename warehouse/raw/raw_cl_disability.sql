-- cl/disability: every data row exactly as delivered (cell text), one row per
-- delivered line, quarantined rows included, so any quarantine or repair can be
-- traced back to what the agency sent. Restricted: holds raw 身份证号 and names.
-- Each row is written once (issue #17): since then the delivery's staged Parquet file
-- is kept under <warehouse>.raw/<load_id>/ (pipelines/load/raw_archive.py, listed in
-- audit.raw_files) and raw.cl_disability is a view over raw.cl_disability_pre_archive, the table
-- the rows loaded before then stay in (empty on a warehouse created since), and
-- those files. On a warehouse of the old layout this renames its table; do not edit:
-- a later change is a new migration.
CREATE TABLE IF NOT EXISTS raw.cl_disability (
    load_id      VARCHAR NOT NULL,  -- audit.deliveries.load_id
    extract_date DATE    NOT NULL,  -- 数据截止日期 of the delivery
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT  NOT NULL,  -- header = 1
    cert_no         VARCHAR,  -- 残疾人证号
    name            VARCHAR,  -- 姓名
    disability_type VARCHAR,  -- 残疾类别
    grade           VARCHAR,  -- 残疾等级
    issue_date      VARCHAR,  -- 发证日期
    cert_status     VARCHAR,  -- 证件状态
    division_code   VARCHAR,  -- 行政区划代码
    living_subsidy  VARCHAR,  -- 享受生活补贴
    nursing_subsidy VARCHAR   -- 享受护理补贴
);
ALTER TABLE raw.cl_disability RENAME TO cl_disability_pre_archive;
CREATE VIEW raw.cl_disability AS SELECT * FROM raw.cl_disability_pre_archive;
