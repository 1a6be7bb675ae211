-- Every township's rows of one table (by its township_code): __township, __row (its place in the source), the row.
SELECT township_code AS __township, {row} AS __row, * FROM src.{table} WHERE township_code IS NOT NULL
