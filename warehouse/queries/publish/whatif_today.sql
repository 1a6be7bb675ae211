-- The 低保 standard of each 城乡属性 in force on the what-if's snapshot date ($1).
SELECT urban_rural, dibao_standard FROM core.dibao_lines
WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1) ORDER BY urban_rural
