"""The social platforms the service knows."""

from enum import StrEnum

__all__ = ["Platform"]


class Platform(StrEnum):
    """A social platform; the value is what the API and imports accept."""

    X = "x"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    LINKEDIN = "linkedin"
