-- core.parameter_on(parameter_name, for_urban_rural, for_grade, on_day): the
-- amount of a policy parameter (parameters/<name>.yaml, loaded into
-- core.policy_parameters by pipelines.core.parameters) in force on on_day for the whole
-- city (371500). A parameter without an urban/rural or grade breakdown ignores
-- that argument (pass NULL). NULL when nothing is in force on that day.
-- Example: core.parameter_on('dibao_standard', '城市', NULL, DATE '2024-01-01') = 931.
CREATE OR REPLACE MACRO core.parameter_on(parameter_name, for_urban_rural, for_grade, on_day) AS (
    SELECT max(p.amount)
    FROM core.policy_parameters p
    WHERE p.parameter = parameter_name
      AND p.region_code = '371500'
      AND (p.urban_rural IS NULL OR p.urban_rural = for_urban_rural)
      AND (p.grade IS NULL OR p.grade = for_grade)
      AND p.valid_from <= on_day::DATE
      AND (p.valid_to IS NULL OR p.valid_to > on_day::DATE)
);
