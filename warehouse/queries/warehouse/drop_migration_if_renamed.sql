-- The old name's record goes when the new name is recorded too (the new one is the later).
DELETE FROM audit.schema_migrations
WHERE name = ? AND EXISTS (SELECT 1 FROM audit.schema_migrations WHERE name = ?)
