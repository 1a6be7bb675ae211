-- mart.county_month: monitored population, benefits and disability subsidies
-- per county (区/县/市), month by month: the sums of mart.township_month, whose
-- measures each count a household or person in one township only.
-- Grain: one row per month (its last mz snapshot) and 6-digit county code.
-- county_name is NULL for a code outside 聊城 (a non-local residence), and
-- out_of_city is true: such a row is kept (city totals include those households)
-- but is no county of the city; per-county questions filter on NOT out_of_city.
CREATE OR REPLACE TABLE mart.county_month AS
WITH counties(county_code, county_name) AS (
    VALUES ('371502', '东昌府区'), ('371503', '茌平区'), ('371521', '阳谷县'), ('371522', '莘县'),
           ('371524', '东阿县'), ('371525', '冠县'), ('371526', '高唐县'), ('371581', '临清市')
)
SELECT
    t.month,
    t.county_code,
    c.county_name,
    sum(t.households)::BIGINT AS households,
    sum(t.persons)::BIGINT AS persons,
    sum(t.dibao_households)::BIGINT AS dibao_households,
    sum(t.dibao_persons)::BIGINT AS dibao_persons,
    sum(t.tekun_households)::BIGINT AS tekun_households,
    sum(t.tekun_persons)::BIGINT AS tekun_persons,
    sum(t.edge_households)::BIGINT AS edge_households,
    sum(t.edge_persons)::BIGINT AS edge_persons,
    sum(t.rigid_expense_households)::BIGINT AS rigid_expense_households,
    sum(t.rigid_expense_persons)::BIGINT AS rigid_expense_persons,
    sum(t.other_low_income_households)::BIGINT AS other_low_income_households,
    sum(t.other_low_income_persons)::BIGINT AS other_low_income_persons,
    sum(t.exited_households)::BIGINT AS exited_households,
    sum(t.benefit_paid)::DECIMAL(14,2) AS benefit_paid,
    sum(t.living_subsidy_recipients)::BIGINT AS living_subsidy_recipients,
    sum(t.living_subsidy_amount)::DECIMAL(14,2) AS living_subsidy_amount,
    sum(t.nursing_subsidy_recipients)::BIGINT AS nursing_subsidy_recipients,
    sum(t.nursing_subsidy_amount)::DECIMAL(14,2) AS nursing_subsidy_amount,
    c.county_name IS NULL AS out_of_city,
    sum(t.households_row_quarantined)::BIGINT AS households_row_quarantined,
    max(t.cl_snapshot_date) AS cl_snapshot_date,
    max(t.mz_snapshot_date) AS mz_snapshot_date,
    bool_or(t.mz_snapshot_carried) AS mz_snapshot_carried
FROM mart.township_month t
LEFT JOIN counties c USING (county_code)
WHERE t.month >= coalesce(getvariable('months_from'), t.month)  -- a month-scoped night
GROUP BY t.month, t.county_code, c.county_name
ORDER BY t.month, t.county_code;
