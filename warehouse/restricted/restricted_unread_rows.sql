-- restricted.unread_rows: households and members whose row in a loaded mz snapshot
-- was quarantined, so the snapshot cannot say whether they were still listed; and
-- households whose own row is missing while members rows name them (orphans,
-- audit.conflicts): the snapshot lists their people, so they did not leave.
-- Grain: one row per snapshot, file and identity (as delivered, trimmed; a member's
-- 身份证号 upper-cased) that no clean row of the same snapshot delivered. Absence
-- from a snapshot is an exit only when the row is truly absent: core.household_history
-- and core.member_history carry the last known state over these snapshots instead.
-- Restricted: person_id is a raw 身份证号.
CREATE OR REPLACE TABLE restricted.unread_rows AS
WITH households AS (
    SELECT DISTINCT r.extract_date, trim(r.household_id) AS household_id
    FROM raw.mz_households r
    WHERE nullif(trim(r.household_id), '') IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM staging.mz_households s
                      WHERE s.load_id = r.load_id AND s.line_number = r.line_number)
    UNION
    SELECT DISTINCT extract_date, household_id FROM staging.mz_members
),
members AS (
    SELECT DISTINCT r.extract_date, trim(r.household_id) AS household_id, upper(trim(r.person_id)) AS person_id
    FROM raw.mz_members r
    WHERE nullif(trim(r.household_id), '') IS NOT NULL AND nullif(trim(r.person_id), '') IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM staging.mz_members s
                      WHERE s.load_id = r.load_id AND s.line_number = r.line_number)
)
SELECT 'households' AS file, h.extract_date, s.seq, h.household_id, NULL::VARCHAR AS person_id
FROM households h
JOIN core.snapshots s ON s.source = 'mz' AND s.extract_date = h.extract_date
WHERE NOT EXISTS (SELECT 1 FROM staging.mz_households c
                  WHERE c.extract_date = h.extract_date AND c.household_id = h.household_id)
UNION ALL
SELECT 'members', m.extract_date, s.seq, m.household_id, m.person_id
FROM members m
JOIN core.snapshots s ON s.source = 'mz' AND s.extract_date = m.extract_date
WHERE NOT EXISTS (SELECT 1 FROM staging.mz_members c
                  WHERE c.extract_date = m.extract_date AND c.household_id = m.household_id
                    AND c.person_id = m.person_id);
