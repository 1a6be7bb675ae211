-- One row per file publishing keeps up to date (pipelines/publish/published.py): the
-- content hash of what went into it when it was last written, and the bytes written.
-- A night whose content hash equals this one, with the file still of these bytes,
-- leaves the file as it is. Written only after the file is renamed into place, in the
-- warehouse's own transaction: a crash in between leaves the previous hash, and the
-- next night rewrites the file (docs/outputs.md). The analyst copy leaves it out.
CREATE TABLE IF NOT EXISTS audit.published_files (
    kind          VARCHAR   NOT NULL,  -- list_xlsx, list_csv, analyst, township; township_inputs:
                                       -- the township files' folder (no bytes: file_sha256 '', 0),
                                       -- hashed over everything all of them are selected from
    path          VARCHAR   NOT NULL,  -- absolute, as written; one row per path
    content_hash  VARCHAR   NOT NULL,  -- sha256 of the layout version and the rows that went in
    file_sha256   VARCHAR   NOT NULL,  -- of the bytes written
    file_bytes    BIGINT    NOT NULL,
    written_at    TIMESTAMP NOT NULL   -- UTC
);
