-- The latest successful build of a layer ($layer): what the next plan compares with.
SELECT models, parameters, built_at
FROM audit.layer_builds
WHERE layer = $layer
ORDER BY built_at DESC
LIMIT 1
