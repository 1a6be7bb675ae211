-- core.dibao_standard_on(for_urban_rural, on_day): the 低保 standard (元/人·月)
-- for 城市 or 农村 in force on on_day (parameters/dibao_standard.yaml).
CREATE OR REPLACE MACRO core.dibao_standard_on(for_urban_rural, on_day) AS
    core.parameter_on('dibao_standard', for_urban_rural, NULL, on_day);
