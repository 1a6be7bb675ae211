-- rs/contributions (append): rows that passed repair and validation,
-- typed, with lineage back to the delivered file and line. Restricted.
CREATE TABLE IF NOT EXISTS staging.rs_contributions (
    load_id      VARCHAR NOT NULL,
    extract_date DATE    NOT NULL,
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT  NOT NULL,
    person_id     VARCHAR       NOT NULL,  -- 身份证号
    contrib_month VARCHAR       NOT NULL,  -- 缴费年月; YYYYMM
    insurance     VARCHAR       NOT NULL,  -- 险种
    contrib_base  DECIMAL(12,2) NOT NULL,  -- 缴费基数; yuan
    employer      VARCHAR                  -- 单位名称
);
