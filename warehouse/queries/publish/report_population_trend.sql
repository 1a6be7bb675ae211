-- Per month, the city's 在册 households: all, 低保, 特困, 低保边缘, and households that left
-- (mart.county_month); of all, those counted with the state last read (their row that month
-- quarantined, or every household of a month whose 民政 delivery never loaded: it carries the
-- snapshot before it, core.mz_months, marked ※); and the 残联 snapshot the month's subsidies
-- come from.
SELECT strftime(month, '%Y-%m') || CASE WHEN bool_or(mz_snapshot_carried) THEN ' ※' ELSE '' END,
       sum(households), sum(dibao_households), sum(tekun_households),
       sum(edge_households), sum(exited_households),
       CASE WHEN bool_or(mz_snapshot_carried) THEN sum(households) ELSE sum(households_row_quarantined) END,
       coalesce(strftime(max(cl_snapshot_date), '%Y-%m-%d'), '—')
FROM mart.county_month GROUP BY month ORDER BY month
