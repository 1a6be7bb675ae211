"""Off the production path: the benchmark and scoring against a generated world's truth."""
