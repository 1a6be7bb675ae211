-- mart.followup_status: each household a risk list showed, with what the
-- caseworkers reported back for that list (staging.feedback). Grain: one row
-- per household per exported list (mart.listed_households).
-- completed = some report for this listing other than 联系不上 (a visit was
-- made: 已入户, 纳入低保, 临时救助 or 不符合条件); completed_on = its first date.
-- overdue = not completed and the deadline has passed (end of the deadline day,
-- as of the day the view is read). latest_result is the most recent report.
-- A view over stateful tables, so it is defined among the migrations (after the
-- tables it reads: warehouse/lifecycle.toml).
CREATE OR REPLACE VIEW mart.followup_status AS
WITH reports AS (
    SELECT
        household_id,
        list_as_of_date,
        arg_max(result, (check_date, loaded_at, line_number)) AS latest_result,
        max(check_date) AS latest_check_date,
        min(check_date) FILTER (WHERE result <> '联系不上') AS completed_on,
        count(*) AS reports
    FROM staging.feedback
    GROUP BY household_id, list_as_of_date
)
SELECT
    l.as_of_date,
    l.issued_on,
    l.county_code,
    l.township_code,
    l.household_id,
    l.risk_level,
    l.marker,
    l.action,
    l.time_limit,
    l.deadline,
    r.latest_result,
    r.latest_check_date,
    r.completed_on,
    coalesce(r.reports, 0) AS reports,
    r.completed_on IS NOT NULL AS completed,
    coalesce(r.completed_on <= l.deadline, false) AS completed_on_time,
    r.completed_on IS NULL AND l.deadline < current_date AS overdue
FROM mart.listed_households l
LEFT JOIN reports r ON r.household_id = l.household_id AND r.list_as_of_date = l.as_of_date;
