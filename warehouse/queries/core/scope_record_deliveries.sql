-- After a successful layer build, in its transaction: the deliveries it saw ($layer),
-- of every status (a rejected delivery wrote quarantine rows the models read), for the
-- next night's plan (after core/scope_forget_deliveries).
INSERT INTO audit.built_deliveries
SELECT $layer, load_id, status FROM audit.deliveries
