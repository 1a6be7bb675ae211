-- core.dibao_lines: the 低保 standard and the 低保边缘 line in force, by 城乡属性,
-- as validity intervals: the lines every income is measured against.
-- Grain: one row per 城乡属性 per period in which neither line changed.
-- dibao_edge_line = dibao_standard x dibao_edge_factor (parameters/dibao_edge_factor.yaml,
-- 1.5): a per-capita income at or above the standard but under this line is
-- 低保边缘 by income (core.income_band). valid_to is exclusive; NULL = in force.
CREATE OR REPLACE TABLE core.dibao_lines AS
WITH areas(urban_rural) AS (
    VALUES ('城市'), ('农村')
),
changes AS (
    -- every day on which the standard or the factor changed
    SELECT DISTINCT a.urban_rural, p.valid_from AS day
    FROM core.policy_parameters p
    JOIN areas a ON p.urban_rural IS NULL OR p.urban_rural = a.urban_rural
    WHERE p.parameter IN ('dibao_standard', 'dibao_edge_factor')
),
lines AS (
    SELECT
        urban_rural,
        day AS valid_from,
        lead(day) OVER (PARTITION BY urban_rural ORDER BY day) AS valid_to,
        core.parameter_on('dibao_standard', urban_rural, NULL, day) AS dibao_standard,
        core.parameter_on('dibao_edge_factor', NULL, NULL, day) AS dibao_edge_factor
    FROM changes
)
SELECT
    urban_rural,
    valid_from,
    valid_to,
    dibao_standard::DECIMAL(12, 2) AS dibao_standard,                        -- 元/人·月
    dibao_edge_factor,
    (dibao_standard * dibao_edge_factor)::DECIMAL(12, 2) AS dibao_edge_line  -- 元/人·月
FROM lines
WHERE dibao_standard IS NOT NULL
ORDER BY urban_rural, valid_from;
