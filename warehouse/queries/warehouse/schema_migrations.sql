-- What the migration runner applied: one row per migration file, under its path in warehouse/.
CREATE TABLE IF NOT EXISTS audit.schema_migrations (
    name VARCHAR PRIMARY KEY, checksum VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)
