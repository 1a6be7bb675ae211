-- Deliveries of any source up to $as_of that loaded after the latest export of the list of
-- $as_of (late, re-sent after a rejection, or a correction): the list may now read differently.
SELECT count(*) FROM audit.deliveries
WHERE status IN ('loaded', 'superseded') AND extract_date <= $as_of
  AND attempted_at > (SELECT max(exported_at) FROM audit.list_exports WHERE as_of_date = $as_of)
