-- The listings of the $recent_lists latest lists, each with where it stands on $today: 已核查, 逾期 (deadline passed), 联系不上 (tried), 待核查.
SELECT *, CASE WHEN completed THEN '已核查' WHEN deadline < $today THEN '逾期'
               WHEN latest_result = '联系不上' THEN '联系不上' ELSE '待核查' END AS status
FROM mart.followup_status
WHERE as_of_date IN (SELECT DISTINCT as_of_date FROM mart.followup_status
                     ORDER BY as_of_date DESC LIMIT $recent_lists)
