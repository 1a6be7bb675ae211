-- core.contributions: social insurance contributions from 人社, each once.
-- Grain: one row per person, month paid for and 险种. rs deliveries are
-- append-only and a month may arrive late or again: repeats collapse into one
-- row, and where copies differ the latest delivered copy wins (a correction).
-- recorded_on = extract date of the first delivery that brought the month.
CREATE OR REPLACE TABLE core.contributions AS
WITH months AS (
    -- grouped on the 身份证号 before the join: far cheaper than on person_key
    SELECT
        person_id,
        contrib_month,
        insurance,
        arg_max({'base': contrib_base, 'employer': employer}, (extract_date, line_number)) AS latest,
        min(extract_date) AS recorded_on,
        count(*) AS copies                                  -- deliveries that carried it
    FROM staging.rs_contributions
    -- a month-scoped night (pipelines/core/scope.py): only the months from months_from
    WHERE contrib_month >= coalesce(strftime(getvariable('months_from'), '%Y%m'), contrib_month)
    GROUP BY person_id, contrib_month, insurance
)
SELECT
    i.person_key,
    i.masked_id,
    strptime(m.contrib_month, '%Y%m')::DATE AS month,      -- first day of the month paid for
    m.insurance,
    m.latest.base AS base,                                  -- yuan per month
    m.latest.employer AS employer,
    m.recorded_on,
    m.copies
FROM months m
JOIN restricted.person_identity i ON i.id_number = m.person_id;
