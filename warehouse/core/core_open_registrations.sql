-- core.open_registrations(d, opening): the registrations of type opening
-- ('就业登记' or '失业登记') still open on day d, using only what 人社 had
-- delivered by d: dated on or before d, and no <opening>注销 of the same person
-- dated strictly later and on or before d (outputs.md: a 就业登记 that a later
-- 就业登记注销 has not closed). Grain: one row per open registration.
CREATE OR REPLACE MACRO core.open_registrations(d, opening) AS TABLE
SELECT r.*
FROM core.registrations r
WHERE r.reg_type = opening
  AND r.reg_date <= d::DATE
  AND r.recorded_on <= d::DATE
  AND NOT EXISTS (
      SELECT 1
      FROM core.registrations c
      WHERE c.person_key = r.person_key
        AND c.reg_type = opening || '注销'
        AND c.reg_date > r.reg_date
        AND c.reg_date <= d::DATE
        AND c.recorded_on <= d::DATE
  );
