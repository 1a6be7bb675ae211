-- Per month, the city's 在册 households: all, 低保, 特困, 低保边缘, and households that left (mart.county_month).
SELECT strftime(month, '%Y-%m'), sum(households), sum(dibao_households), sum(tekun_households),
       sum(edge_households), sum(exited_households)
FROM mart.county_month GROUP BY month ORDER BY month
