-- After a successful layer build, in its transaction: the deliveries it saw ($layer),
-- for the next night's months_from (after core/scope_forget_deliveries).
INSERT INTO audit.built_deliveries
SELECT $layer, load_id, status FROM audit.deliveries WHERE status IN ('loaded', 'superseded')
