-- restricted.unread_rows: households and members whose row in a loaded mz snapshot,
-- and 残疾人证 whose row in a loaded cl snapshot, was quarantined, so the snapshot cannot
-- say whether they were still listed; and households whose own row is missing while
-- members rows name them (orphans, audit.conflicts): the snapshot lists their people, so
-- they did not leave. (A certificate's row quarantined for one cell read as the
-- certificate gone that month and back the next: a "new" 一/二级 certificate, a false
-- 24-hour 急难 case; found by the second hostile audit.)
-- Grain: one row per snapshot, file and identity (as delivered, trimmed, a float-written
-- 家庭编号 read back: core.delivered_key; a member's 身份证号 and a 残疾人证号
-- upper-cased) that no clean row of the same snapshot delivered. Absence from a snapshot
-- is an exit only when the row is truly absent: core.household_history
-- and core.member_history carry the last known state over these snapshots instead.
-- Restricted: person_id is a raw 身份证号 (cert_no holds one). The parts are read from what the load recorded:
-- raw rows are joined to the few lines audit.quarantine names (not anti-joined to every
-- staged row) and orphans come from audit.conflicts (not from every staged member).
CREATE OR REPLACE TABLE restricted.unread_rows AS
WITH quarantined AS (
    -- a loaded delivery's row that staging lacks is a quarantined row (rows read = rows
    -- loaded + rows quarantined): its lines, so raw is probed for them only
    SELECT DISTINCT load_id, file_name, line_number FROM audit.quarantine WHERE source IN ('mz', 'cl')
),
households AS (
    SELECT DISTINCT r.extract_date, core.delivered_key(r.household_id) AS household_id
    FROM raw.mz_households r
    SEMI JOIN quarantined q ON q.load_id = r.load_id AND q.file_name = r.file_name AND q.line_number = r.line_number
    WHERE nullif(trim(r.household_id), '') IS NOT NULL
    UNION
    -- households named by members rows but without their own row (recorded at load)
    SELECT c.extract_date, c.household_id
    FROM audit.conflicts c
    JOIN audit.deliveries d ON d.load_id = c.load_id AND d.status = 'loaded'
    WHERE c.kind = 'orphan_member'
),
members AS (
    SELECT DISTINCT r.extract_date, core.delivered_key(r.household_id) AS household_id, upper(trim(r.person_id)) AS person_id
    FROM raw.mz_members r
    SEMI JOIN quarantined q ON q.load_id = r.load_id AND q.file_name = r.file_name AND q.line_number = r.line_number
    WHERE nullif(trim(r.household_id), '') IS NOT NULL AND nullif(trim(r.person_id), '') IS NOT NULL
),
certificates AS (
    SELECT DISTINCT r.extract_date, upper(trim(r.cert_no)) AS cert_no
    FROM raw.cl_disability r
    SEMI JOIN quarantined q ON q.load_id = r.load_id AND q.file_name = r.file_name AND q.line_number = r.line_number
    WHERE nullif(trim(r.cert_no), '') IS NOT NULL
)
SELECT 'households' AS file, h.extract_date, s.seq, h.household_id, NULL::VARCHAR AS person_id,
       NULL::VARCHAR AS cert_no
FROM households h
JOIN core.snapshots s ON s.source = 'mz' AND s.extract_date = h.extract_date
WHERE h.extract_date >= coalesce(getvariable('months_from'), h.extract_date)  -- a month-scoped night
  AND NOT EXISTS (SELECT 1 FROM staging.mz_households c
                  WHERE c.extract_date = h.extract_date AND c.household_id = h.household_id
                    -- bounded by hand: the optimizer does not carry the month filter into staging
                    AND c.extract_date >= coalesce(getvariable('months_from'), c.extract_date))
UNION ALL
SELECT 'members', m.extract_date, s.seq, m.household_id, m.person_id, NULL
FROM members m
JOIN core.snapshots s ON s.source = 'mz' AND s.extract_date = m.extract_date
WHERE m.extract_date >= coalesce(getvariable('months_from'), m.extract_date)
  AND NOT EXISTS (SELECT 1 FROM staging.mz_members c
                  WHERE c.extract_date = m.extract_date AND c.household_id = m.household_id
                    AND c.person_id = m.person_id
                    AND c.extract_date >= coalesce(getvariable('months_from'), c.extract_date))
UNION ALL
SELECT 'disability', x.extract_date, s.seq, NULL, NULL, x.cert_no
FROM certificates x
JOIN core.snapshots s ON s.source = 'cl' AND s.extract_date = x.extract_date
WHERE x.extract_date >= coalesce(getvariable('months_from'), x.extract_date)
  AND NOT EXISTS (SELECT 1 FROM staging.cl_disability c
                  WHERE c.extract_date = x.extract_date AND c.cert_no = x.cert_no
                    AND c.extract_date >= coalesce(getvariable('months_from'), c.extract_date));
