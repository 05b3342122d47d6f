"""API keys: scoped, expiring, revocable, stored only as SHA-256 hashes (see service.py)."""
