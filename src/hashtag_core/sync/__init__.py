"""Keeping collected accounts current: syncs, follower snapshots and re-fetches."""
