-- The archived raw files a raw.<file> view reads: those of loaded deliveries, in load order.
SELECT f.path FROM audit.raw_files f JOIN audit.deliveries d USING (load_id)
WHERE d.status = 'loaded' AND f.raw_view = ?
ORDER BY d.attempted_at, f.load_id
