-- The city-wide value of a parameter in force on a day (pipelines.core.parameters.standard_on):
-- parameter, region_code, urban_rural, grade, day, day.
SELECT amount FROM core.policy_parameters
WHERE parameter = ? AND region_code = ?
  AND (urban_rural IS NULL OR urban_rural = ?)
  AND (grade IS NULL OR grade = ?)
  AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)
