SELECT name FROM audit.schema_migrations
