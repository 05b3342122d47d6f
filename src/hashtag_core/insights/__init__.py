"""Insights over the precomputed tables: recommendations and the hashtag report."""
