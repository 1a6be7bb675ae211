-- One row per repaired cell of a loaded row: what was delivered, what loaded.
CREATE TABLE IF NOT EXISTS audit.repairs (
    load_id        VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    extract_date   DATE    NOT NULL,
    file_name      VARCHAR NOT NULL,
    line_number    BIGINT  NOT NULL,
    column_name    VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,  -- e.g. id_15_to_18, date_excel_serial, grade_spelling
    raw_value      VARCHAR,
    repaired_value VARCHAR
);
