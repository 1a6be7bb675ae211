-- sha256 over core.policy_parameters as loaded tonight (every row, in one order).
SELECT sha256(coalesce(string_agg(p::VARCHAR, '|' ORDER BY p::VARCHAR), '')) FROM core.policy_parameters p
