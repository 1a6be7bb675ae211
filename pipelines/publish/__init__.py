"""What people open: township lists, the run report, role copies, queries, what-if."""
