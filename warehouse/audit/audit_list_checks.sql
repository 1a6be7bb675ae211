-- A scoring date's lists worked out again after a delivery loaded later than they went
-- out, and found to read as issued (pipelines.publish.lists): nothing was re-issued, and
-- the next nights need not work them out again for the same deliveries.
CREATE TABLE IF NOT EXISTS audit.list_checks (
    as_of_date DATE      NOT NULL,
    checked_at TIMESTAMP NOT NULL
);
