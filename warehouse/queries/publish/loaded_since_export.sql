-- Deliveries of any source up to $as_of that loaded after the list of $as_of was last
-- exported or found still right (late, re-sent after a rejection, or a correction):
-- the list may now read differently.
SELECT count(*) FROM audit.deliveries
WHERE status IN ('loaded', 'superseded') AND extract_date <= $as_of
  AND attempted_at > greatest(
      (SELECT max(exported_at) FROM audit.list_exports WHERE as_of_date = $as_of),
      (SELECT coalesce(max(checked_at), TIMESTAMP '1900-01-01') FROM audit.list_checks WHERE as_of_date = $as_of))
