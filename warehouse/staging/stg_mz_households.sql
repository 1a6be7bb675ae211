-- mz/households (snapshot): rows that passed repair and validation,
-- typed, with lineage back to the delivered file and line. Restricted.
CREATE TABLE IF NOT EXISTS staging.mz_households (
    load_id      VARCHAR NOT NULL,
    extract_date DATE    NOT NULL,
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT  NOT NULL,
    household_id      VARCHAR       NOT NULL,  -- 家庭编号
    head_id           VARCHAR       NOT NULL,  -- 户主身份证号
    head_name         VARCHAR               ,  -- 户主姓名
    division_code     VARCHAR       NOT NULL,  -- 行政区划代码
    urban_rural       VARCHAR       NOT NULL,  -- 城乡属性
    category          VARCHAR       NOT NULL,  -- 保障类别
    status            VARCHAR       NOT NULL,  -- 保障状态
    household_size    BIGINT        NOT NULL,  -- 家庭人口数
    income_per_capita DECIMAL(12,2)         ,  -- 月人均收入; yuan
    check_date        DATE                  ,  -- 核对日期
    benefit_amount    DECIMAL(12,2)         ,  -- 月保障金额; yuan
    granted_date      DATE          NOT NULL   -- 认定日期
);
