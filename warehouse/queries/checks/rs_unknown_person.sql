-- A 人社 registration for a 身份证号 that no mz or cl delivery up to this date
-- has named. Kept (the person is known to 人社) and recorded for review.
INSERT INTO audit.conflicts
WITH this_load AS (
    SELECT * FROM staging.rs_registrations WHERE load_id = $load_id
),
known AS (
    SELECT person_id FROM staging.mz_members WHERE extract_date <= (SELECT max(extract_date) FROM this_load)
    UNION SELECT head_id FROM staging.mz_households WHERE extract_date <= (SELECT max(extract_date) FROM this_load)
    UNION SELECT left(cert_no, 18) FROM staging.cl_disability WHERE extract_date <= (SELECT max(extract_date) FROM this_load)
)
SELECT r.load_id, 'unknown_person', 'rs', r.extract_date, r.file_name, r.line_number,
       NULL, mask_id(r.person_id),
       'registration (' || r.reg_type || ') for an id seen in no mz or cl delivery'
FROM this_load r ANTI JOIN known k ON r.person_id = k.person_id;
