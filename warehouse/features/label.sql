-- Training label for the households of feature_population on $as_of: did their
-- income fall below the 低保 line in the 3 months after $as_of, as the later mz
-- snapshots show it? Positive when, in ($as_of, $as_of + 3 months], the
-- household entered 低保 (core.change_events entered_dibao, first seen in a
-- snapshot in the window), had a 家庭经济状况核对 dated in the window whose
-- 月人均收入 was below the standard then (core.income_checks), or had a check in
-- the window that came off its cycle (an application: see `applied`).
-- This label reads the future on purpose: it is what training learns, never a
-- feature. It is complete only when a snapshot at or after the window's end is
-- loaded. Grain: one row per household of feature_population.
--   entered_dibao   the household entered 低保 in the window
--   checked         an income check is dated in the window (its income was measured)
--   checked_below   such a check found the income below the standard
--   applied         a check dated in the window came sooner after the one before it
--                   than the household's cycle (below, minus one month of slack): a
--                   check off the schedule follows an application, and a household
--                   applies in a month its income fell short, whatever the check then
--                   assessed. It is the warehouse's only sight of a single month's
--                   income (models/README.md, Label).
--   label           entered_dibao OR checked_below OR applied
--   review_due      a scheduled review falls in the window: the last check (as
--                   known on $as_of) is at least (cycle - 3) months old, where
--                   cycle is the usual number of months between two consecutive
--                   checks of households of the same 保障类别, as the snapshots up to
--                   $as_of show (e.g. 12, or 6 for 低保边缘). Training learns from
--                   these households only: their income is measured in the window
--                   whether or not they would ever apply (see models/README.md).
WITH bounds AS (
    SELECT $as_of::DATE AS after, ($as_of::DATE + INTERVAL 3 MONTH)::DATE AS until
),
known_checks AS (
    SELECT household_id, check_date, arg_max(category, valid_from) AS category
    FROM core.household_history
    WHERE valid_from <= $as_of::DATE AND check_date IS NOT NULL
    GROUP BY household_id, check_date
),
gaps AS (
    SELECT
        category,
        date_diff('month', lag(check_date) OVER (PARTITION BY household_id ORDER BY check_date), check_date) AS gap
    FROM known_checks
),
cycles AS (
    SELECT category, mode(gap) AS cycle
    FROM gaps
    WHERE gap > 0
    GROUP BY category
),
entries AS (
    SELECT DISTINCT e.household_id
    FROM core.change_events e, bounds b
    WHERE e.kind = 'entered_dibao' AND e.seen_date > b.after AND e.seen_date <= b.until
),
checks AS (
    SELECT c.household_id, bool_or(c.below_standard) AS below
    FROM core.income_checks c, bounds b
    WHERE c.check_date > b.after AND c.check_date <= b.until
    GROUP BY c.household_id
),
spaced AS (
    SELECT
        household_id,
        check_date,
        date_diff('month', lag(check_date) OVER (PARTITION BY household_id ORDER BY check_date), check_date) AS gap
    FROM core.income_checks
    WHERE household_id IN (SELECT household_id FROM feature_population)
),
applications AS (
    SELECT DISTINCT s.household_id
    FROM spaced s
    JOIN feature_population h ON h.household_id = s.household_id
    JOIN cycles y ON y.category = h.category, bounds b
    WHERE s.check_date > b.after AND s.check_date <= b.until AND s.gap < y.cycle - 1
)
SELECT
    h.household_id,
    e.household_id IS NOT NULL AS entered_dibao,
    c.household_id IS NOT NULL AS checked,
    coalesce(c.below, false) AS checked_below,
    a.household_id IS NOT NULL AS applied,
    e.household_id IS NOT NULL OR coalesce(c.below, false) OR a.household_id IS NOT NULL AS label,
    coalesce(date_diff('month', h.check_date, $as_of::DATE) >= y.cycle - 3, false) AS review_due
FROM feature_population h
LEFT JOIN entries e ON e.household_id = h.household_id
LEFT JOIN checks c ON c.household_id = h.household_id
LEFT JOIN applications a ON a.household_id = h.household_id
LEFT JOIN cycles y ON y.category = h.category
