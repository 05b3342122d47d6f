"""Hashtag extraction (twitter-text rules), LinkedIn markup handling and grouping keys."""

from hashtag_core.hashtags.extract import (
    HashtagMatch,
    extract_hashtags,
    extract_hashtags_with_indices,
    hashtags_in_post,
    linkedin_markup_to_text,
    normalize_hashtag,
    parse_hashtag_param,
)

__all__ = [
    "HashtagMatch",
    "extract_hashtags",
    "extract_hashtags_with_indices",
    "hashtags_in_post",
    "linkedin_markup_to_text",
    "normalize_hashtag",
    "parse_hashtag_param",
]
