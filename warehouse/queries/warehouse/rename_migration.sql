-- A migration record made under the file's old name takes its new name (lifecycle.toml, renamed).
UPDATE audit.schema_migrations SET name = ? WHERE name = ?
