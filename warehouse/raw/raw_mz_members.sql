-- mz/members: every data row exactly as delivered (cell text), one row per
-- delivered line, quarantined rows included, so any quarantine or repair can be
-- traced back to what the agency sent. Restricted: holds raw 身份证号 and names.
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
