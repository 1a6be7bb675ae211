-- The rows whose count differs between a role file's table ({target}) and tonight's
-- selection of it ({selection}), told apart by two 64-bit hashes of the whole row
-- ({key}: `hash(cols) AS __h1, hash(cols, 1) AS __h2`): every old row of such a value
-- is deleted and every new one inserted (pipelines/publish/row_patch.py).
CREATE TEMP TABLE patch_keys AS
SELECT __h1, __h2, coalesce(o.n, 0) AS old_n, coalesce(w.n, 0) AS new_n
FROM (SELECT __h1, __h2, count(*) AS n FROM (SELECT {key} FROM {target}) GROUP BY ALL) o
FULL JOIN (SELECT __h1, __h2, count(*) AS n FROM (SELECT {key} FROM ({selection})) GROUP BY ALL) w
    USING (__h1, __h2)
WHERE o.n IS DISTINCT FROM w.n
