-- The deliveries attempted, loaded or superseded since the layer's latest successful
-- build ($layer), of any status (a rejected or skipped one changes no staged row, but
-- wrote its ledger and quarantine rows: counted, so that only a night with no delivery
-- at all keeps the layer whole), and the first month whose rows they can change:
-- a 民政 or 残联 snapshot changes its own month and the later ones (history
-- intervals, change events, the certificates in force); a 人社 delivery its
-- extract month and every month it brings contributions for (they may arrive
-- late, or again with another base). A superseded 人社 delivery's rows are gone
-- from staging, so nobody can say which months it held: rs_superseded > 0 asks
-- for a full build. So does a same-date correction of 民政 rows (corrected_rows > 0):
-- it re-dates when a check was known (core.income_checks.first_seen), and the month that
-- counted it before may lie before the corrected one. A 民政 snapshot also changes the
-- months between it and the snapshot before it (carried months, core.mz_months).
WITH changed AS (
    SELECT d.source, d.extract_date, d.load_id, d.status
    FROM audit.deliveries d
    WHERE NOT EXISTS (SELECT 1 FROM audit.built_deliveries b
                      WHERE b.layer = $layer AND b.load_id = d.load_id AND b.status = d.status)
),
months AS (
    SELECT date_trunc('month', extract_date)::DATE AS month FROM changed
    UNION ALL
    SELECT min(strptime(c.contrib_month, '%Y%m'))::DATE
    FROM staging.rs_contributions c
    WHERE c.load_id IN (SELECT load_id FROM changed WHERE source = 'rs' AND status = 'loaded')
    UNION ALL
    -- a 民政 snapshot also ends the months since the one loaded before it, which carried that
    -- one (core.mz_months): a month whose delivery was rejected gets its row tonight
    SELECT (date_trunc('month', max(s.extract_date)) + INTERVAL 1 MONTH)::DATE
    FROM changed c
    JOIN core.snapshots s ON s.source = 'mz' AND s.extract_date < c.extract_date
    WHERE c.source = 'mz' AND c.status = 'loaded'
    GROUP BY c.load_id
)
SELECT
    (SELECT count(*) FROM changed) AS changed,
    (SELECT count(*) FROM changed WHERE source = 'rs' AND status = 'superseded') AS rs_superseded,
    (SELECT count(*) FROM audit.corrected_rows WHERE load_id IN (SELECT load_id FROM changed)) AS corrected_rows,
    (SELECT min(month) FROM months) AS months_from
