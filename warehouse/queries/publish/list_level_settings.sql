-- The risk-level settings in force on the scoring date ($1), for the list's 说明 sheet.
SELECT parameter, amount FROM core.policy_parameters
WHERE parameter LIKE 'risk_%' AND region_code = '371500'
  AND valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)
