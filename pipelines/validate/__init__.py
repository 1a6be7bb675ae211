"""The Great Expectations suites, compiled to DuckDB SQL, and the gate a staged delivery passes."""
