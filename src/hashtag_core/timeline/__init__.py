"""Follower trends: each account's follower count per local day or ISO week."""
