-- The deliveries an earlier build of the layer ($layer) saw, replaced by core/scope_record_deliveries.
DELETE FROM audit.built_deliveries WHERE layer = $layer
