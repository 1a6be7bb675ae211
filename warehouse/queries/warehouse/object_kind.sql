-- What a schema-qualified name is in this database: 'table', 'view', 'macro' or no row.
SELECT 'table' FROM duckdb_tables() WHERE schema_name = $s AND table_name = $o
UNION ALL SELECT 'view' FROM duckdb_views() WHERE schema_name = $s AND view_name = $o
UNION ALL SELECT DISTINCT 'macro' FROM duckdb_functions()
WHERE schema_name = $s AND function_name = $o AND function_type IN ('macro', 'table_macro')
