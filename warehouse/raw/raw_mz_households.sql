-- mz/households: every data row exactly as delivered (cell text), one row per
-- delivered line, quarantined rows included, so any quarantine or repair can be
-- traced back to what the agency sent. Restricted: holds raw 身份证号 and names.
-- Each row is written once (issue #17): since then the delivery's staged Parquet file
-- is kept under <warehouse>.raw/<load_id>/ (pipelines/load/raw_archive.py, listed in
-- audit.raw_files) and raw.mz_households is a view over raw.mz_households_pre_archive, the table
-- the rows loaded before then stay in (empty on a warehouse created since), and
-- those files. On a warehouse of the old layout this renames its table; do not edit:
-- a later change is a new migration.
CREATE TABLE IF NOT EXISTS raw.mz_households (
    load_id      VARCHAR NOT NULL,  -- audit.deliveries.load_id
    extract_date DATE    NOT NULL,  -- 数据截止日期 of the delivery
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT  NOT NULL,  -- header = 1
    household_id      VARCHAR,  -- 家庭编号
    head_id           VARCHAR,  -- 户主身份证号
    head_name         VARCHAR,  -- 户主姓名
    division_code     VARCHAR,  -- 行政区划代码
    urban_rural       VARCHAR,  -- 城乡属性
    category          VARCHAR,  -- 保障类别
    status            VARCHAR,  -- 保障状态
    household_size    VARCHAR,  -- 家庭人口数
    income_per_capita VARCHAR,  -- 月人均收入
    check_date        VARCHAR,  -- 核对日期
    benefit_amount    VARCHAR,  -- 月保障金额
    granted_date      VARCHAR   -- 认定日期
);
ALTER TABLE raw.mz_households RENAME TO mz_households_pre_archive;
CREATE VIEW raw.mz_households AS SELECT * FROM raw.mz_households_pre_archive;
