"""Benchmarks (see docs/BENCHMARKS.md)."""

# The benches measure the server's capacity with one API key, so its per-key request limits
# (OUTFRAME_RATE_LIMIT_*) are off in the servers they start.
NO_RATE_LIMITS = {"rate_limit_submits_per_second": "0", "rate_limit_reads_per_second": "0"}
