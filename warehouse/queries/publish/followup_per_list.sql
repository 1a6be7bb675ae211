-- Per recent list, newest first: listed, done, on time, unreachable, pending, overdue, due by $today.
SELECT as_of_date, count(*), count(*) FILTER (WHERE completed), count(*) FILTER (WHERE completed_on_time),
       count(*) FILTER (WHERE status = '联系不上'), count(*) FILTER (WHERE status = '待核查'),
       count(*) FILTER (WHERE status = '逾期'), count(*) FILTER (WHERE deadline < $today)
FROM ({recent}) GROUP BY as_of_date ORDER BY as_of_date DESC
