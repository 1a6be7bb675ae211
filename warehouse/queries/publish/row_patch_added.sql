-- The selection's rows of every value whose count changed (patch_keys, row_patch_keys.sql),
-- staged in {staged} to be scanned for identities before they join their table.
CREATE TABLE {staged} AS
SELECT * EXCLUDE (__h1, __h2) FROM (SELECT *, {key} FROM ({selection}))
SEMI JOIN (SELECT * FROM temp.patch_keys WHERE new_n > 0) USING (__h1, __h2)
