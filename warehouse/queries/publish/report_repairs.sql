-- Repaired cells of the deliveries $1 by kind, the commonest first.
SELECT kind, count(*) FROM audit.repairs WHERE list_contains($1, load_id)
GROUP BY kind ORDER BY count(*) DESC, kind LIMIT 12
