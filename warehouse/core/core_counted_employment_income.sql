-- core.counted_employment_income(amount, on_day): the part of one employed
-- member's monthly employment income that counts towards household income after
-- the employment-income disregard in force on on_day
-- (parameters/employment_income_disregard.yaml: an ILLUSTRATIVE flat amount per
-- employed member and month, the 就业鼓励 of the 2024 notice, which gives no value).
CREATE OR REPLACE MACRO core.counted_employment_income(amount, on_day) AS
    greatest(amount - coalesce(core.parameter_on('employment_income_disregard', NULL, NULL, on_day), 0), 0);
