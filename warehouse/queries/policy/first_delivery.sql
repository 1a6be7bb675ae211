-- The extract date of the first 民政 delivery loaded: the standards must be in force from its month on.
SELECT min(extract_date) FROM audit.deliveries WHERE source = 'mz' AND status IN ('loaded', 'superseded')
