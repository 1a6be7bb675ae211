-- One row per delivery folder that was attempted (had _READY). The unit of
-- loading: a delivery loads in one transaction or not at all.
CREATE TABLE IF NOT EXISTS audit.deliveries (
    load_id        VARCHAR PRIMARY KEY,  -- <source>-<extract_date>-<first 12 hex of the content hash>
    source         VARCHAR   NOT NULL,   -- mz, cl, rs
    extract_date   DATE      NOT NULL,   -- 数据截止日期 (the folder name)
    folder         VARCHAR   NOT NULL,   -- path relative to the landing root
    content_sha256 VARCHAR   NOT NULL,   -- over the data files' names and bytes (not _READY): replays share it
    ready_sha256   VARCHAR   NOT NULL,   -- of the _READY marker: a fixed marker is a new attempt
    status         VARCHAR   NOT NULL,   -- loaded, rejected, superseded, skipped_duplicate
    message        VARCHAR,              -- why it was rejected or skipped, one line
    replay_of      VARCHAR,              -- load_id of the delivery with the same content
    attempted_at   TIMESTAMP NOT NULL
);
