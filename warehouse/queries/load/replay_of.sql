-- What the delivery in $folder replays, if anything (pipelines/load/deliveries.py; docs/ingest.md,
-- *Replays and corrections*): the delivery this folder has in force (only its _READY rewritten),
-- else any earlier delivery of the source, in another folder, with the same data files, loaded
-- or since corrected. sources.md: "the same bytes as an earlier delivery, under the same or a new
-- date folder" is a replay, whatever lies between: an old snapshot dropped again under a new
-- date must not turn the state back nor move the scoring date.
SELECT load_id, folder FROM (
    SELECT load_id, folder, 0 AS pick, attempted_at FROM audit.deliveries
    WHERE folder = $folder AND status = 'loaded' AND content_sha256 = $content
    UNION ALL
    SELECT load_id, folder, 1, attempted_at FROM audit.deliveries
    WHERE source = $source AND folder <> $folder AND content_sha256 = $content
      AND status IN ('loaded', 'superseded')
)
ORDER BY pick, attempted_at
LIMIT 1
