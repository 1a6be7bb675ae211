-- Core builds after the given time (the mart layer's latest build) that changed
-- anything (scope other than unchanged): then the marts read other rows, whatever
-- their own deliveries say (a new person_key hash key changes core, not the deliveries).
SELECT count(*) FROM audit.layer_builds WHERE layer = 'core' AND built_at > ? AND scope <> 'unchanged'
