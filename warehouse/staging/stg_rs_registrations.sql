-- rs/registrations (append): rows that passed repair and validation,
-- typed, with lineage back to the delivered file and line. Restricted.
CREATE TABLE IF NOT EXISTS staging.rs_registrations (
    load_id      VARCHAR NOT NULL,
    extract_date DATE    NOT NULL,
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT  NOT NULL,
    person_id     VARCHAR       NOT NULL,  -- 身份证号
    name          VARCHAR               ,  -- 姓名
    reg_type      VARCHAR       NOT NULL,  -- 登记类型
    reg_date      DATE          NOT NULL,  -- 登记日期
    employer      VARCHAR               ,  -- 单位名称
    division_code VARCHAR       NOT NULL   -- 行政区划代码
);
