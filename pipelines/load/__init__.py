"""Write–audit–publish loads of staged deliveries into raw and staging."""
