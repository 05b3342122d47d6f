"""Precomputed aggregates: rebuilding them (worker) and reading them (API)."""
