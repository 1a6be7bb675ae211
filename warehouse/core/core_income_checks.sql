-- core.income_checks: every 家庭经济状况核对 an mz snapshot reported.
-- Grain: one row per household and distinct 核对日期. The assessed per-capita
-- income is as last delivered for that 核对日期 (a later snapshot may correct it);
-- first_seen is when that value was first delivered: the snapshot's extract date, or
-- the day a same-date correction that changed it was loaded (corrected_on).
-- The lines are those in force on the 核对日期 for the household's 城乡属性 then.
CREATE OR REPLACE TABLE core.income_checks AS
WITH checks AS (
    SELECT
        household_id,
        check_date,
        arg_max(income_per_capita, valid_from) AS income_per_capita,
        arg_max(urban_rural, valid_from) AS urban_rural,
        min(valid_from) AS shown_from,                      -- the first snapshot that reported the check
        max(last_seen) AS shown_to
    FROM core.household_history
    WHERE check_date IS NOT NULL
    GROUP BY household_id, check_date
),
-- a same-date correction that changed the check, or added the row showing it, was delivered
-- on received_on: the value it shows is known from then, not from the extract date. Unless a
-- snapshot before the corrected one already showed that very value (a correction that puts
-- back what the superseded delivery had wrong, or a row added back): known from then.
corrected AS (
    SELECT c.household_id, c.check_date, max(r.received_on) AS corrected_on
    FROM checks c
    JOIN audit.corrected_rows r
      ON r.household_id = c.household_id AND r.extract_date BETWEEN c.shown_from AND c.shown_to
     AND (len(r.changed) = 0 OR list_has_any(r.changed, ['income_per_capita', 'check_date']))
     AND NOT EXISTS (
         SELECT 1 FROM core.household_history h
         WHERE h.household_id = c.household_id AND h.check_date = c.check_date AND h.valid_from < r.extract_date
           AND h.income_per_capita IS NOT DISTINCT FROM c.income_per_capita)
    JOIN audit.deliveries d ON d.load_id = r.load_id AND d.status = 'loaded'
    GROUP BY ALL
)
SELECT
    c.household_id,
    c.check_date,
    greatest(c.shown_from, k.corrected_on) AS first_seen,  -- when the value shown was first delivered
    c.urban_rural,
    c.income_per_capita,
    l.dibao_standard,
    l.dibao_edge_line,
    c.income_per_capita < l.dibao_standard AS below_standard,
    core.income_band(c.income_per_capita, l.dibao_standard, l.dibao_edge_line) AS income_band,
    k.corrected_on                                          -- NULL unless a same-date correction changed it
FROM checks c
LEFT JOIN corrected k ON k.household_id = c.household_id AND k.check_date = c.check_date
LEFT JOIN core.dibao_lines l
  ON l.urban_rural = c.urban_rural
 AND c.check_date >= l.valid_from AND (l.valid_to IS NULL OR c.check_date < l.valid_to)
ORDER BY c.household_id, c.check_date;
