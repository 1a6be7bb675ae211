-- Cross-source and within-snapshot conflicts, loaded as delivered and kept for
-- review, never resolved by guessing. Keys are masked ids or household ids.
CREATE TABLE IF NOT EXISTS audit.conflicts (
    load_id      VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,  -- member_in_two_households, household_size_mismatch, orphan_member, certificate_digits_disagree, unknown_person
    source       VARCHAR NOT NULL,
    extract_date DATE    NOT NULL,
    file_name    VARCHAR,
    line_number  BIGINT,
    household_id VARCHAR,
    masked_id    VARCHAR,           -- first 6 + last 4 of the 身份证号
    detail       VARCHAR NOT NULL
);
