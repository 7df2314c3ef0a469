"""Speed benchmarks for the contract suite (not tests: they measure, they never assert on time).

``python -m benchmarks.run`` compares the default contract run with a bare ``requests`` loop and with
``schemathesis run`` against the embedded mock; see README, section "Speed".
"""
