-- 'macro' when a schema-qualified name is a macro or table macro of this database.
SELECT DISTINCT 'macro' FROM duckdb_functions()
WHERE schema_name = $s AND function_name = $o AND function_type IN ('macro', 'table_macro')
