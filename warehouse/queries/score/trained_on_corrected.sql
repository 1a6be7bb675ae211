-- Deliveries a model created at $created (UTC) was trained on that a same-date correction
-- loaded since has superseded (pipelines/score/upkeep.py, `outgrown`): the measurements and
-- features it learned from are no longer what the agencies say.
SELECT count(*) FROM audit.deliveries o
JOIN audit.deliveries c ON c.folder = o.folder AND c.status = 'loaded'
WHERE o.status = 'superseded' AND o.attempted_at < $created AND c.attempted_at > $created
