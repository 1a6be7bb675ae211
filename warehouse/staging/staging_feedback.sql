-- Caseworkers' check results (核查结果) from returned risk lists, as repaired
-- and validated by pipelines.ingest.feedback (the source rules: one correct reading is
-- repaired, anything else quarantined in audit.quarantine with source
-- 'feedback'). Stateful: every loaded row is kept with its lineage; later rows
-- never overwrite earlier ones. Restricted like all staging: 备注 is free text.
CREATE TABLE IF NOT EXISTS staging.feedback (
    load_id         VARCHAR   NOT NULL,  -- audit.feedback_loads
    file_name       VARCHAR   NOT NULL,
    line_number     BIGINT    NOT NULL,  -- header = 1 (XLSX: sheet row)
    household_id    VARCHAR   NOT NULL,  -- 家庭编号
    result          VARCHAR   NOT NULL,  -- 核查结果: 已入户, 纳入低保, 临时救助, 不符合条件, 联系不上
    check_date      DATE      NOT NULL,  -- 核查日期
    note            VARCHAR,             -- 备注
    list_as_of_date DATE      NOT NULL,  -- the list the check answers: the latest listing before check_date
    loaded_at       TIMESTAMP NOT NULL
);
