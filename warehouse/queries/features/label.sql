-- Training label for the households of feature_population on $as_of: what the
-- income measurements dated in ($as_of, $until] found, where $until is at most
-- 3 months after $as_of (training passes an earlier $until to hold later months
-- out). Every measurement counts, whatever caused it: a routine 家庭经济状况核对
-- (yearly, twice a year, or irregular), the check that follows an application,
-- the check at 低保 entry, and a caseworker's 核查结果 on a returned risk list.
-- No review calendar is assumed (models/README.md, Label).
-- This label reads the future on purpose: it is what training learns, never a
-- feature. Grain: one row per household of feature_population.
--   entered_dibao   the household entered 低保 in the window (its entry check found
--                   the income below the standard)
--   checked         a 核对 is dated in the window (core.income_checks)
--   checked_below   such a check found the per-capita income below the standard then
--   feedback        a caseworker reported a finding about income in the window
--                   (mart.feedback_labels: 纳入低保 or 不符合条件)
--   feedback_below  that finding was 纳入低保
--   measured        any of the above: the household's income was measured in the window
--   label           entered_dibao OR checked_below OR feedback_below (read only where measured)
WITH bounds AS (
    SELECT $as_of::DATE AS after,
           least(($as_of::DATE + INTERVAL 3 MONTH)::DATE, $until::DATE) AS until
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
findings AS (
    SELECT f.household_id, bool_or(f.below_standard) AS below
    FROM mart.feedback_labels f, bounds b
    WHERE f.below_standard IS NOT NULL AND f.check_date > b.after AND f.check_date <= b.until
    GROUP BY f.household_id
)
SELECT
    h.household_id,
    e.household_id IS NOT NULL AS entered_dibao,
    c.household_id IS NOT NULL AS checked,
    coalesce(c.below, false) AS checked_below,
    f.household_id IS NOT NULL AS feedback,
    coalesce(f.below, false) AS feedback_below,
    e.household_id IS NOT NULL OR c.household_id IS NOT NULL OR f.household_id IS NOT NULL AS measured,
    e.household_id IS NOT NULL OR coalesce(c.below, false) OR coalesce(f.below, false) AS label
FROM feature_population h
LEFT JOIN entries e ON e.household_id = h.household_id
LEFT JOIN checks c ON c.household_id = h.household_id
LEFT JOIN findings f ON f.household_id = h.household_id
