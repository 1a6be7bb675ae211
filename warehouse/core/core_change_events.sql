-- core.change_events: what changed for households and persons, one row per change.
-- Snapshot sources (mz households and members, cl certificates) are compared
-- with the previous snapshot of the same source; the first snapshot of a source
-- is the baseline and shows states, not changes. 人社 events and 核对 are dated
-- events in themselves.
-- event_date = the date the source gives for the change (认定日期 for a new
--              category, 核对日期, 登记日期, 发证日期) or, where it gives none
--              (退出, a member gone), the date of the snapshot that first shows it;
-- seen_date  = extract date of the delivery that first showed the change.
-- Kinds: entered_dibao, left_dibao, category_changed, household_exited,
-- member_added, member_died_or_left, income_checked, new_disability,
-- disability_worsened, job_found, job_lost, unemployment_registered,
-- unemployment_ended. below_standard is set for income_checked only.
CREATE OR REPLACE TABLE core.change_events AS
WITH mz AS (
    SELECT extract_date, prev_date FROM core.snapshots WHERE source = 'mz' AND seq > 1
),
cl AS (
    SELECT extract_date, prev_date FROM core.snapshots WHERE source = 'cl' AND seq > 1
),
-- each household interval that starts after the baseline, with the interval just
-- before it when the household was listed in the previous snapshot
household_steps AS (
    SELECT
        cur.*,
        prev.household_id IS NOT NULL AS was_listed,
        prev.category AS prev_category,
        prev.status AS prev_status,
        cur.category = '低保' AND cur.status = '在册' AS on_dibao,
        coalesce(prev.category = '低保' AND prev.status = '在册', false) AS was_on_dibao
    FROM core.household_history cur
    JOIN mz ON mz.extract_date = cur.valid_from
    LEFT JOIN core.household_history prev
      ON prev.household_id = cur.household_id AND prev.valid_to = cur.valid_from
),
-- household intervals after which the next snapshot did not list the household
household_ends AS (
    SELECT h.*
    FROM core.household_history h
    WHERE h.valid_to IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM core.household_history nxt
          WHERE nxt.household_id = h.household_id AND nxt.valid_from = h.valid_to)
),
household_events AS (
    SELECT granted_date AS event_date, valid_from AS seen_date, 'entered_dibao' AS kind, household_id,
           '低保 ' || urban_rural || ', 认定日期 ' || granted_date || ', 月保障金额 ' || benefit_amount AS detail
    FROM household_steps
    WHERE on_dibao AND NOT was_on_dibao
    UNION ALL
    SELECT CASE WHEN category <> prev_category THEN granted_date ELSE valid_from END, valid_from, 'left_dibao',
           household_id, '低保 在册 -> ' || category || ' ' || status
    FROM household_steps
    WHERE was_on_dibao AND NOT on_dibao
    UNION ALL
    SELECT valid_to, valid_to, 'left_dibao', household_id, '低保 在册 -> no longer listed'
    FROM household_ends
    WHERE category = '低保' AND status = '在册'
    UNION ALL
    SELECT granted_date, valid_from, 'category_changed', household_id,
           prev_category || ' -> ' || category || ', 认定日期 ' || granted_date
    FROM household_steps
    WHERE was_listed AND category <> prev_category
    UNION ALL
    SELECT valid_from, valid_from, 'household_exited', household_id, category || ' 在册 -> 退出'
    FROM household_steps
    WHERE was_listed AND prev_status = '在册' AND status = '退出'
    UNION ALL
    SELECT valid_to, valid_to, 'household_exited', household_id, category || ' 在册 -> no longer listed'
    FROM household_ends
    WHERE status = '在册'
),
-- member changes count only where the household is listed on both sides: a
-- household that appears or drops out as a whole is a household event
member_events AS (
    SELECT cur.valid_from AS event_date, cur.valid_from AS seen_date, 'member_added' AS kind,
           cur.household_id, cur.person_key, cur.masked_id, '与户主关系 ' || cur.relation AS detail
    FROM core.member_history cur
    JOIN mz ON mz.extract_date = cur.valid_from
    JOIN core.household_history listed_now
      ON listed_now.household_id = cur.household_id
     AND cur.valid_from BETWEEN listed_now.valid_from AND listed_now.last_seen
    JOIN core.household_history listed_before
      ON listed_before.household_id = cur.household_id
     AND mz.prev_date BETWEEN listed_before.valid_from AND listed_before.last_seen
    WHERE NOT EXISTS (
        SELECT 1 FROM core.member_history prev
        WHERE prev.household_id = cur.household_id AND prev.person_key = cur.person_key
          AND prev.valid_to = cur.valid_from)
    UNION ALL
    SELECT m.valid_to, m.valid_to, 'member_died_or_left',
           m.household_id, m.person_key, m.masked_id, '与户主关系 ' || m.relation || ', no longer listed'
    FROM core.member_history m
    JOIN core.household_history listed_now
      ON listed_now.household_id = m.household_id
     AND m.last_seen BETWEEN listed_now.valid_from AND listed_now.last_seen
    JOIN core.household_history listed_after
      ON listed_after.household_id = m.household_id
     AND m.valid_to BETWEEN listed_after.valid_from AND listed_after.last_seen
    WHERE NOT EXISTS (
        SELECT 1 FROM core.member_history nxt
        WHERE nxt.household_id = m.household_id AND nxt.person_key = m.person_key
          AND nxt.valid_from = m.valid_to)
),
-- a person's holdings can only turn new or more severe where one of their
-- certificates starts a new interval: compare the most severe 有效 certificate
-- on that snapshot with the one on the previous snapshot
certificate_steps AS (
    SELECT DISTINCT c.person_key, c.masked_id, c.valid_from AS on_date, cl.prev_date
    FROM core.certificate_history c
    JOIN cl ON cl.extract_date = c.valid_from
),
holdings AS (
    -- the person's 有效 certificates on that snapshot and on the previous one
    SELECT
        s.person_key,
        s.masked_id,
        s.on_date,
        h.grade,
        h.grade_rank,
        {'grade': h.grade, 'type': h.disability_type, 'issued': h.issue_date} AS certificate,
        h.valid_from <= s.on_date AND coalesce(h.valid_to > s.on_date, true) AS held_now,
        h.valid_from <= s.prev_date AND coalesce(h.valid_to > s.prev_date, true) AS held_before
    FROM certificate_steps s
    JOIN core.certificate_history h ON h.person_key = s.person_key AND h.cert_status = '有效'
),
holder_steps AS (
    SELECT
        person_key,
        masked_id,
        on_date,
        min(grade_rank) FILTER (WHERE held_now) AS best_rank,
        arg_min(certificate, grade_rank) FILTER (WHERE held_now) AS best,
        min(grade_rank) FILTER (WHERE held_before) AS prev_rank,
        arg_min(grade, grade_rank) FILTER (WHERE held_before) AS prev_grade
    FROM holdings
    GROUP BY person_key, masked_id, on_date
),
disability_events AS (
    SELECT best.issued AS event_date, on_date AS seen_date, 'new_disability' AS kind, person_key, masked_id,
           '有效 ' || best.grade || ' ' || best.type || ', 发证日期 ' || best.issued AS detail
    FROM holder_steps
    WHERE best_rank IS NOT NULL AND prev_rank IS NULL
    UNION ALL
    SELECT best.issued, on_date, 'disability_worsened', person_key, masked_id,
           prev_grade || ' -> ' || best.grade || ' ' || best.type || ', 发证日期 ' || best.issued
    FROM holder_steps
    WHERE best_rank < prev_rank
),
employment_events AS (
    SELECT
        reg_date AS event_date,
        recorded_on AS seen_date,
        CASE reg_type
            WHEN '就业登记' THEN 'job_found'
            WHEN '就业登记注销' THEN 'job_lost'
            WHEN '失业登记' THEN 'unemployment_registered'
            WHEN '失业登记注销' THEN 'unemployment_ended'
        END AS kind,
        person_key,
        masked_id,
        reg_type || coalesce(', ' || employer, '') AS detail
    FROM core.registrations
),
check_events AS (
    SELECT check_date AS event_date, first_seen AS seen_date, 'income_checked' AS kind, household_id,
           '月人均收入 ' || coalesce(income_per_capita::VARCHAR, '(empty)')
               || coalesce(', 低保标准 ' || dibao_standard::DECIMAL(12, 2), '')
               || CASE WHEN below_standard THEN ': below the standard'
                       WHEN NOT below_standard THEN ': at or above the standard' ELSE '' END AS detail,
           below_standard
    FROM core.income_checks
)
SELECT event_date, seen_date, kind, 'mz' AS source, household_id,
       NULL::VARCHAR AS person_key, NULL::VARCHAR AS masked_id, detail, NULL::BOOLEAN AS below_standard
FROM household_events
UNION ALL
SELECT event_date, seen_date, kind, 'mz', household_id, person_key, masked_id, detail, NULL
FROM member_events
UNION ALL
SELECT event_date, seen_date, kind, 'mz', household_id, NULL, NULL, detail, below_standard
FROM check_events
UNION ALL
SELECT event_date, seen_date, kind, 'cl', NULL, person_key, masked_id, detail, NULL
FROM disability_events
UNION ALL
SELECT event_date, seen_date, kind, 'rs', NULL, person_key, masked_id, detail, NULL
FROM employment_events
ORDER BY event_date, kind, household_id, masked_id;
