-- What a schema-qualified name is in this database: 'table', 'view' or no row
-- (then pipelines.warehouse.object_kind asks warehouse/macro_kind: listing
-- duckdb_functions() costs ~17 ms, every built-in included, too much for each model).
SELECT 'table' FROM duckdb_tables() WHERE schema_name = $s AND table_name = $o
UNION ALL SELECT 'view' FROM duckdb_views() WHERE schema_name = $s AND view_name = $o
