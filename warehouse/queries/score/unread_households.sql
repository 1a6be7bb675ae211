-- Households not scored on $1 because their row in the mz snapshot in force that day was
-- quarantined (features/population.sql): counted by the state carried over it, 在册 and
-- neither 低保 nor 特困, i.e. the households that would have been scored on that state.
SELECT count(*)
FROM core.households_asof($1) h
WHERE h.status = '在册' AND h.category NOT IN ('低保', '特困')
  AND list_contains(h.unknown_on, (SELECT max(extract_date) FROM core.snapshots
                                   WHERE source = 'mz' AND extract_date <= $1::DATE))
