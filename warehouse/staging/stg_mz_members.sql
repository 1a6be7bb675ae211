-- mz/members (snapshot): rows that passed repair and validation,
-- typed, with lineage back to the delivered file and line. Restricted.
CREATE TABLE IF NOT EXISTS staging.mz_members (
    load_id      VARCHAR NOT NULL,
    extract_date DATE    NOT NULL,
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT  NOT NULL,
    household_id VARCHAR       NOT NULL,  -- 家庭编号
    person_id    VARCHAR       NOT NULL,  -- 身份证号
    name         VARCHAR               ,  -- 姓名
    relation     VARCHAR       NOT NULL,  -- 与户主关系
    sex          VARCHAR       NOT NULL,  -- 性别
    birth_date   DATE          NOT NULL,  -- 出生日期
    work_ability VARCHAR       NOT NULL,  -- 劳动能力
    health       VARCHAR       NOT NULL,  -- 健康状况
    student      VARCHAR       NOT NULL   -- 在校生
);
