-- One row per rejected cell (a row with two bad cells has two); duplicate copies
-- of a row have column_name NULL and reason duplicate_row. Restricted: raw_value
-- may hold a raw 身份证号.
CREATE TABLE IF NOT EXISTS audit.quarantine (
    load_id      VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    extract_date DATE    NOT NULL,
    file_name    VARCHAR NOT NULL,
    line_number  BIGINT  NOT NULL,  -- header = 1
    column_name  VARCHAR,           -- header as delivered (Chinese)
    raw_value    VARCHAR,
    reason       VARCHAR NOT NULL   -- see docs/quality.md for the codes
);
