-- Every macro and table macro of the attached databases, as schema and name. Listing
-- duckdb_functions() costs ~13 ms (every built-in included): pipelines.catalog.Catalog
-- lists them once per layer build, not once per model.
SELECT DISTINCT schema_name, function_name FROM duckdb_functions()
WHERE function_type IN ('macro', 'table_macro')
