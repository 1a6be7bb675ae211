-- Migrations applied at or after the given time (the layer's latest build): the
-- warehouse's schema may have changed under the rows kept from earlier months.
SELECT count(*) FROM audit.schema_migrations WHERE applied_at >= ?
