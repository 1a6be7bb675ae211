-- What the delivery in $folder replays, if anything (pipelines/load/deliveries.py; docs/ingest.md,
-- *Replays and corrections*): the delivery this folder has in force (only its _READY rewritten);
-- for an append-only source (人社) any earlier delivery with the same data files; for a snapshot
-- source (民政, 残联) the snapshot in force just before $extract_date. The same bytes as an older
-- snapshot, with another one between, is the state going back: a snapshot in its own right.
WITH earlier AS (
    SELECT load_id, folder, content_sha256, attempted_at,
           row_number() OVER (ORDER BY extract_date DESC, attempted_at DESC) AS back
    FROM audit.deliveries
    WHERE source = $source AND folder <> $folder AND extract_date < $extract_date AND status = 'loaded'
)
SELECT load_id, folder FROM (
    SELECT load_id, folder, 0 AS pick, attempted_at FROM audit.deliveries
    WHERE folder = $folder AND status = 'loaded' AND content_sha256 = $content
    UNION ALL
    SELECT load_id, folder, 1, attempted_at FROM audit.deliveries
    WHERE $append AND source = $source AND folder <> $folder AND content_sha256 = $content
      AND status IN ('loaded', 'superseded')
    UNION ALL
    SELECT load_id, folder, 1, attempted_at FROM earlier
    WHERE NOT $append AND back = 1 AND content_sha256 = $content
)
ORDER BY pick, attempted_at
LIMIT 1
