-- Feature group employment: 就业/失业登记 of the members (人社 events), as
-- delivered by $as_of: an event counts only when dated on or before $as_of and
-- recorded (first delivered) on or before $as_of; rs events may arrive up to two
-- deliveries late, so a loss known later is not seen on $as_of.
-- Grain: one row per household of feature_population.
--   job_losses_3m / job_losses_6m   就业登记注销 dated in the 3 / 6 months up to $as_of
--   months_since_job_loss           months since the latest 就业登记注销 (NULL: none known)
--   open_jobs                       就业登记 still open on $as_of (core.open_registrations)
--   open_unemployment               失业登记 still open on $as_of
--   new_unemployment_3m             失业登记 dated in the 3 months up to $as_of
--   uninsured_unemployed            members the rule 未参保失业临时救助 finds on $as_of
--                                   (core.rule_uninsured_unemployed: open 失业登记, no
--                                   失业保险 in the 12 months before it)
WITH events AS (
    SELECT m.household_id, r.reg_type, r.reg_date
    FROM feature_members m
    JOIN core.registrations r ON r.person_key = m.person_key
    WHERE r.reg_date <= $as_of::DATE AND r.recorded_on <= $as_of::DATE
),
history AS (
    SELECT
        household_id,
        count(*) FILTER (WHERE reg_type = '就业登记注销'
                           AND reg_date > $as_of::DATE - INTERVAL 3 MONTH) AS job_losses_3m,
        count(*) FILTER (WHERE reg_type = '就业登记注销'
                           AND reg_date > $as_of::DATE - INTERVAL 6 MONTH) AS job_losses_6m,
        date_diff('month', max(reg_date) FILTER (WHERE reg_type = '就业登记注销'), $as_of::DATE)
            AS months_since_job_loss,
        count(*) FILTER (WHERE reg_type = '失业登记'
                           AND reg_date > $as_of::DATE - INTERVAL 3 MONTH) AS new_unemployment_3m
    FROM events
    GROUP BY household_id
),
open_now AS (
    SELECT m.household_id, o.reg_type, count(*) AS n
    FROM feature_members m
    JOIN (SELECT * FROM core.open_registrations($as_of, '就业登记')
          UNION ALL
          SELECT * FROM core.open_registrations($as_of, '失业登记')) o ON o.person_key = m.person_key
    GROUP BY ALL
),
uninsured AS (
    SELECT m.household_id, count(*) AS n
    FROM feature_members m
    JOIN core.rule_uninsured_unemployed($as_of) r ON r.person_key = m.person_key
    GROUP BY m.household_id
)
SELECT
    h.household_id,
    coalesce(e.job_losses_3m, 0) AS job_losses_3m,
    coalesce(e.job_losses_6m, 0) AS job_losses_6m,
    e.months_since_job_loss,
    coalesce(j.n, 0) AS open_jobs,
    coalesce(u.n, 0) AS open_unemployment,
    coalesce(e.new_unemployment_3m, 0) AS new_unemployment_3m,
    coalesce(x.n, 0) AS uninsured_unemployed
FROM feature_population h
LEFT JOIN history e ON e.household_id = h.household_id
LEFT JOIN open_now j ON j.household_id = h.household_id AND j.reg_type = '就业登记'
LEFT JOIN open_now u ON u.household_id = h.household_id AND u.reg_type = '失业登记'
LEFT JOIN uninsured x ON x.household_id = h.household_id
