-- mz/members: every data row exactly as delivered (cell text), one row per
-- delivered line, quarantined rows included, so any quarantine or repair can be
-- traced back to what the agency sent. Restricted: holds raw 身份证号 and names.
-- Each row is written once (issue #17): since then the delivery's staged Parquet file
-- is kept under <warehouse>.raw/<load_id>/ (pipelines/load/raw_archive.py, listed in
-- audit.raw_files) and raw.mz_members is a view over raw.mz_members_pre_archive, the table
-- the rows loaded before then stay in (empty on a warehouse created since), and
-- those files. On a warehouse of the old layout this renames its table; do not edit:
-- a later change is a new migration.
CREATE TABLE IF NOT EXISTS raw.mz_members (
    load_id      VARCHAR NOT NULL,  -- audit.deliveries.load_id
    extract_date DATE    NOT NULL,  -- 数据截止日期 of the delivery
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT  NOT NULL,  -- header = 1
    household_id VARCHAR,  -- 家庭编号
    person_id    VARCHAR,  -- 身份证号
    name         VARCHAR,  -- 姓名
    relation     VARCHAR,  -- 与户主关系
    sex          VARCHAR,  -- 性别
    birth_date   VARCHAR,  -- 出生日期
    work_ability VARCHAR,  -- 劳动能力
    health       VARCHAR,  -- 健康状况
    student      VARCHAR   -- 在校生
);
ALTER TABLE raw.mz_members RENAME TO mz_members_pre_archive;
CREATE VIEW raw.mz_members AS SELECT * FROM raw.mz_members_pre_archive;
