-- Feature population on $as_of: the households risk scoring is for, as the
-- latest mz snapshot on or before $as_of showed them (outputs.md): 保障状态 在册
-- and 保障类别 neither 低保 nor 特困 (those are already covered). A household whose row
-- in that snapshot was quarantined is not scored: its state on that date is unknown (the
-- history carries the last one over it for the counts, unknown_on), and the unread row
-- may be the change that matters, e.g. an entry into 低保. It is scored again once a
-- snapshot shows it readably.
-- Grain: one row per household. Kept as the temp table feature_population,
-- which every feature group reads. dibao_standard is the highest 低保 standard in
-- force for the household's 城乡属性 (元/人·月) from $as_of to 3 months after it: the
-- label's window, whose outcome is judged against the standard in force in each month,
-- so a raise already in parameters/ and due in it counts (one dated later does not).
SELECT
    h.household_id,
    h.county_code,
    h.township_code,
    h.urban_rural,
    h.category,
    h.household_size,
    h.income_per_capita,
    h.check_date,
    h.granted_date,
    h.head_key,
    l.dibao_standard::DOUBLE AS dibao_standard
FROM core.households_asof($as_of) h
LEFT JOIN (
    SELECT urban_rural, max(dibao_standard) AS dibao_standard
    FROM core.dibao_lines
    WHERE valid_from <= $as_of::DATE + INTERVAL 3 MONTH AND (valid_to IS NULL OR valid_to > $as_of::DATE)
    GROUP BY urban_rural
) l ON l.urban_rural = h.urban_rural
WHERE h.status = '在册'
  AND h.category NOT IN ('低保', '特困')
  AND NOT list_contains(h.unknown_on, (
      SELECT max(extract_date) FROM core.snapshots WHERE source = 'mz' AND extract_date <= $as_of::DATE))
