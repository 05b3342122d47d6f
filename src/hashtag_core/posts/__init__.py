"""Posts: storing imports and updates, reading posts by hashtag."""
