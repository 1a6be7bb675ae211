-- Caseworkers' check results for the people a list's 主动发现 sheet showed
-- (pipelines.ingest.feedback): the candidate counterpart of staging.feedback. A
-- row is keyed on the list by its 发现编号 (candidate_ref, a digest of
-- person_key and rule; the list never shows the 身份证号) and resolved to the
-- person and rule of the latest list that showed it before the 核查日期.
-- Stateful: every loaded row is kept with its lineage.
CREATE TABLE IF NOT EXISTS staging.feedback_candidates (
    load_id         VARCHAR   NOT NULL,  -- audit.feedback_loads
    file_name       VARCHAR   NOT NULL,  -- <file>:主动发现 for a workbook's second sheet
    line_number     BIGINT    NOT NULL,  -- header = 1 (XLSX: sheet row)
    candidate_ref   VARCHAR   NOT NULL,  -- 发现编号
    person_key      VARCHAR   NOT NULL,  -- mart.listed_candidates.person_key
    rule            VARCHAR   NOT NULL,  -- mart.listed_candidates.rule
    result          VARCHAR   NOT NULL,  -- 核查结果: 已入户, 纳入低保, 临时救助, 不符合条件, 联系不上
    check_date      DATE      NOT NULL,  -- 核查日期
    note            VARCHAR,             -- 备注
    list_as_of_date DATE      NOT NULL,  -- the list the check answers
    loaded_at       TIMESTAMP NOT NULL
);
