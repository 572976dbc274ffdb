"""Benchmarks that print figures (run with `make bench`); not tests."""
