"""Great Expectations: the suites and the gate a staged delivery passes."""
