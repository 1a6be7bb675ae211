-- core.unemployment_insurance(d): for every person with a 失业登记 still open on d
-- (their latest one), whether 失业保险 was paid in the 12 calendar months before
-- the registration's month, and whether the delivered contribution history covers
-- those months at all. rs delivers contributions from some month on: a window
-- that starts before the first month delivered (or ends after the last) is
-- unknown, not uninsured (issue 19: 58 of 85 flags were missing data).
-- covered = every month of the window was delivered by d (core.contribution_months):
-- one mistyped 缴费年月 (201911 for 202311) no longer stretched the delivered range
-- over years rs never sent, which had made every open 失业登记 look uninsured (the
-- hostile audit: 0 → 109 candidates). A month rs never delivered leaves its windows
-- unknown. Grain: one row per person.
CREATE OR REPLACE MACRO core.unemployment_insurance(d) AS TABLE
WITH open_unemployment AS (
    SELECT person_key, max(reg_date) AS reg_date
    FROM core.open_registrations(d, '失业登记')
    GROUP BY person_key
),
delivered_months AS (
    SELECT month FROM core.contribution_months(d)
),
runs AS (  -- delivered months in unbroken runs: what the evidence shows is the latest run
    SELECT month, date_diff('month', DATE '2000-01-01', month) - row_number() OVER (ORDER BY month) AS run
    FROM delivered_months
),
delivered AS (
    SELECT min(month) AS first_month, max(month) AS last_month
    FROM runs
    WHERE run = (SELECT arg_max(run, month) FROM runs)
),
windows AS (
    SELECT
        person_key,
        reg_date,
        (date_trunc('month', reg_date) - INTERVAL 12 MONTH)::DATE AS window_start,
        (date_trunc('month', reg_date) - INTERVAL 1 MONTH)::DATE AS window_end
    FROM open_unemployment
)
SELECT
    w.person_key,
    w.reg_date,
    w.window_start,
    w.window_end,
    EXISTS (
        SELECT 1
        FROM core.contributions c
        WHERE c.person_key = w.person_key
          AND c.insurance = '失业保险'
          AND c.month BETWEEN w.window_start AND w.window_end
          AND c.recorded_on <= d::DATE
    ) AS insured,
    (SELECT count(*) FROM delivered_months m WHERE m.month BETWEEN w.window_start AND w.window_end) = 12
        AS covered,
    x.first_month AS delivered_from,
    x.last_month AS delivered_to
FROM windows w
CROSS JOIN delivered x;
