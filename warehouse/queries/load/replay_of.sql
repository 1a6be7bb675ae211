-- What the delivery in $folder replays, if anything (pipelines/load/deliveries.py; docs/ingest.md,
-- *Replays and corrections*): the delivery this folder has in force (only its _READY rewritten);
-- for an append-only source (人社) any earlier delivery with the same data files; for a snapshot
-- source (民政, 残联) a loaded snapshot with the same data files and no other snapshot dated
-- between the two. The same bytes as an older snapshot, another one between, is the state going
-- back: a snapshot in its own right.
SELECT load_id, folder FROM (
    SELECT load_id, folder, 0 AS pick, attempted_at FROM audit.deliveries
    WHERE folder = $folder AND status = 'loaded' AND content_sha256 = $content
    UNION ALL
    SELECT load_id, folder, 1, attempted_at FROM audit.deliveries
    WHERE $append AND source = $source AND folder <> $folder AND content_sha256 = $content
      AND status IN ('loaded', 'superseded')
    UNION ALL
    SELECT e.load_id, e.folder, 1, e.attempted_at FROM audit.deliveries e
    WHERE NOT $append AND e.source = $source AND e.folder <> $folder AND e.content_sha256 = $content
      AND e.status = 'loaded'
      AND NOT EXISTS (
          SELECT 1 FROM audit.deliveries b
          WHERE b.source = $source AND b.status = 'loaded' AND b.content_sha256 <> $content
            AND b.extract_date > least(e.extract_date, $extract_date)
            AND b.extract_date < greatest(e.extract_date, $extract_date))
)
ORDER BY pick, attempted_at
LIMIT 1
