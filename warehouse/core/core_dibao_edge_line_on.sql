-- core.dibao_edge_line_on(for_urban_rural, on_day): the 低保边缘 income line
-- (元/人·月) for 城市 or 农村 in force on on_day: the 低保 standard times the
-- edge factor, 1.5 (core.dibao_lines).
CREATE OR REPLACE MACRO core.dibao_edge_line_on(for_urban_rural, on_day) AS (
    SELECT l.dibao_edge_line
    FROM core.dibao_lines l
    WHERE l.urban_rural = for_urban_rural
      AND l.valid_from <= on_day::DATE
      AND (l.valid_to IS NULL OR l.valid_to > on_day::DATE)
);
