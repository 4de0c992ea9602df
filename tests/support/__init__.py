"""Test tooling shared with the benchmarks: scratch PostgreSQL databases, a running assistant."""
