-- cl/disability (snapshot): rows that passed repair and validation,
-- typed, with lineage back to the delivered file and line. Restricted.
CREATE TABLE IF NOT EXISTS staging.cl_disability (
    load_id      VARCHAR NOT NULL,
    extract_date DATE    NOT NULL,
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT  NOT NULL,
    cert_no         VARCHAR       NOT NULL,  -- 残疾人证号
    name            VARCHAR               ,  -- 姓名
    disability_type VARCHAR       NOT NULL,  -- 残疾类别
    grade           VARCHAR       NOT NULL,  -- 残疾等级
    issue_date      DATE          NOT NULL,  -- 发证日期
    cert_status     VARCHAR       NOT NULL,  -- 证件状态
    division_code   VARCHAR       NOT NULL,  -- 行政区划代码
    living_subsidy  VARCHAR       NOT NULL,  -- 享受生活补贴
    nursing_subsidy VARCHAR       NOT NULL   -- 享受护理补贴
);
