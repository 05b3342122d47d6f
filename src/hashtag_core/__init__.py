"""hashtag_core."""
