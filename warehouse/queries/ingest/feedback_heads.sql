-- The head each listed household showed on the list of $as_of (pipelines/ingest/feedback_checks.py):
-- a returned row whose 户主身份证号（脱敏） or 户主姓名 differs answers for another household.
SELECT h.household_id, h.head_masked_id, i.name AS head_name
FROM core.households_asof($as_of) h
LEFT JOIN restricted.person_identity i ON i.person_key = h.head_key
WHERE list_contains($ids, h.household_id)
