"""Benchmarks for docs/targets.md. So far a stub for the verifiable log's targets A1, A2
and A3 (``python -m bench [--quick]``); the full harness comes later."""
