-- mz month-ends that were delivered but never loaded (rejected, or held): the monthly
-- trend carries the snapshot before them (※), and the report says so. The latest attempt's status.
SELECT extract_date, arg_max(status, attempted_at) AS status
FROM audit.deliveries WHERE source = 'mz'
GROUP BY extract_date
HAVING count(*) FILTER (WHERE status IN ('loaded', 'superseded')) = 0
   AND count(*) FILTER (WHERE status IN ('rejected', 'held')) > 0
ORDER BY extract_date
