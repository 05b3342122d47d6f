"""The social platforms the service knows."""

from enum import StrEnum

__all__ = ["INSTAGRAM_MAX_HASHTAGS", "Platform"]


#: Instagram accepts at most this many hashtags on a post (since December 2025).
INSTAGRAM_MAX_HASHTAGS = 5


class Platform(StrEnum):
    """A social platform; the value is what the API and imports accept."""

    X = "x"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    LINKEDIN = "linkedin"


#: Instagram allows at most this many hashtags on a post (since December 2025).
INSTAGRAM_MAX_HASHTAGS = 5
