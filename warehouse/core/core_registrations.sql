-- core.registrations: 人社 就业/失业登记 events, each once however often it was
-- delivered (rs deliveries are append-only and an event may arrive up to two
-- deliveries late, or again). Grain: one row per person, 登记类型, 登记日期 and
-- 单位名称. recorded_on = extract date of the first rs delivery that brought it,
-- so rules can use only what was known by a given day.
CREATE OR REPLACE TABLE core.registrations AS
SELECT
    i.person_key,
    i.masked_id,
    r.reg_type,
    r.reg_date,
    r.employer,
    arg_max(r.division_code, (r.extract_date, r.line_number)) AS division_code,  -- as last delivered
    min(r.extract_date) AS recorded_on,
    count(*) AS copies                                      -- deliveries that carried it
FROM staging.rs_registrations r
JOIN restricted.person_identity i ON i.id_number = r.person_id
GROUP BY i.person_key, i.masked_id, r.reg_type, r.reg_date, r.employer
ORDER BY i.person_key, r.reg_date, r.reg_type;
