"""Benchmarks, run as modules: `uv run python -m bench.<name>`."""
