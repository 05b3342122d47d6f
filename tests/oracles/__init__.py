"""Test and benchmark oracles: plain pandas/numpy versions of the polars analytics.

`reference_pandas` (the base figures) and `reference_insights` (lift, sentiment, slots,
pairs, followers) compute every table the service computes, the slow and obvious way; the
tests and the benchmarks (bench/recompute.py) compare the service's results with theirs. They
live here, not in src/, because the service never runs them: pandas is a dev dependency.
"""
