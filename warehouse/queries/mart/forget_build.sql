-- The deliveries an earlier build of the layer ($layer) saw, replaced by mart/record_build.
DELETE FROM audit.built_deliveries WHERE layer = $layer
