"""Benchmarks for ``make bench``; see :mod:`benchmarks.harness`."""
