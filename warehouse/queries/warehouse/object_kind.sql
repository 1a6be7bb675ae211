-- What a schema-qualified name is in this database: 'table', 'view' or no row
-- (then pipelines.catalog.Catalog looks among the macros: warehouse/macro_names;
-- table_exists does not).
SELECT 'table' FROM duckdb_tables() WHERE schema_name = $s AND table_name = $o
UNION ALL SELECT 'view' FROM duckdb_views() WHERE schema_name = $s AND view_name = $o
