"""Campaign plans: stored plans made from the hashtag estimates, and their review."""
