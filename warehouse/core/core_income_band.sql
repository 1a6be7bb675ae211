-- core.income_band(income, dibao_standard, dibao_edge_line): where a per-capita
-- monthly income stands against the lines in force (core.dibao_lines):
--   'below_dibao'  under the 低保 standard (qualifies for 低保 by income),
--   'dibao_edge'   at or over the standard but under the 低保边缘 line (1.5 x),
--   'above_edge'   at or over the 低保边缘 line;
-- NULL when the income or the standard is unknown.
-- Example: core.income_band(900, core.dibao_standard_on('城市', d), core.dibao_edge_line_on('城市', d)).
CREATE OR REPLACE MACRO core.income_band(income, dibao_standard, dibao_edge_line) AS
    CASE
        WHEN income IS NULL OR dibao_standard IS NULL THEN NULL
        WHEN income < dibao_standard THEN 'below_dibao'
        WHEN income < dibao_edge_line THEN 'dibao_edge'
        ELSE 'above_edge'
    END;
