-- Per source, the expectations of the deliveries $1 passed, failed per row, failed per table, and warned.
SELECT source, count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success AND level = 'row'),
       count(*) FILTER (WHERE NOT success AND level = 'table'),
       count(*) FILTER (WHERE NOT success AND level = 'warn')
FROM audit.dq_results WHERE list_contains($1, load_id) GROUP BY source ORDER BY source
