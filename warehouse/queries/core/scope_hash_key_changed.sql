-- 1 when this session's hash key (getvariable('hash_key'), set by build_core) would give
-- the persons already built other person_keys; 0 otherwise, or when no key is set.
SELECT count(*)
FROM (SELECT * FROM restricted.person_identity LIMIT 1)
WHERE getvariable('hash_key') IS NOT NULL
  AND person_key <> sha256(getvariable('hash_key') || id_number)
