"""Table models. Importing this package registers every table on SQLModel.metadata (alembic)."""

from hashtag_core.models.account import Account, FollowerSnapshot, PostRefresh
from hashtag_core.models.aggregates import (
    DataVersion,
    HashtagDaily,
    HashtagPerformance,
    HashtagTrendCell,
    RecomputeState,
)
from hashtag_core.models.hashtag import Hashtag, PostHashtag
from hashtag_core.models.post import Post, PostMetricSnapshot

__all__ = [
    "Account",
    "DataVersion",
    "FollowerSnapshot",
    "Hashtag",
    "HashtagDaily",
    "HashtagPerformance",
    "HashtagTrendCell",
    "Post",
    "PostHashtag",
    "PostMetricSnapshot",
    "PostRefresh",
    "RecomputeState",
]
