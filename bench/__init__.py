"""Benchmarks: measurements of the pipeline, run by hand (not part of the test suite)."""
