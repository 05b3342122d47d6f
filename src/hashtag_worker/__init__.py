"""hashtag_worker."""
