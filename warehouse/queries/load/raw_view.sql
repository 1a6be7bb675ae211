-- raw.<file>: the rows loaded before issue #17 and the archived files of every
-- loaded delivery ({files}: a list of absolute paths), in the table's columns.
CREATE OR REPLACE VIEW raw.{key} AS
SELECT * FROM raw.{key}_pre_archive
UNION ALL
SELECT {columns} FROM read_parquet([{files}])
