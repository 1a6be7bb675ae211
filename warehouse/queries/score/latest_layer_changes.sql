-- The latest build of each layer that changed anything (scope other than unchanged):
-- a list scored after both is still what the same model would score from them.
SELECT layer, arg_max(run_id, built_at) AS run_id
FROM audit.layer_builds
WHERE scope <> 'unchanged'
GROUP BY layer
ORDER BY layer
