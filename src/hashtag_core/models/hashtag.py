"""Hashtags (grouped by normalised key) and their links to posts."""

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

__all__ = ["Hashtag", "PostHashtag"]


class Hashtag(SQLModel, table=True):
    """A hashtag: `key` is NFKC+casefold, `display` the spelling used on most posts."""

    __tablename__ = "hashtag"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    key: str = Field(unique=True)
    display: str


class PostHashtag(SQLModel, table=True):
    """A hashtag carried by a post (once per post, whatever the repetitions)."""

    __tablename__ = "post_hashtag"

    post_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    hashtag_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    spelling: str
    # Read from the account's own first comment, not the text (Instagram).
    in_first_comment: bool = False
