"""hashtag_api."""
