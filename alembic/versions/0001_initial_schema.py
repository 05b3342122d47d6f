"""Initial schema: accounts, posts, hashtags, history, precomputed aggregates.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_PLATFORMS = "('x', 'instagram', 'facebook', 'linkedin')"
_COUNTS = ("likes", "comments", "shares", "saves", "impressions", "reach", "followers")


def _count_columns() -> str:
    return ",\n".join(f"    {c} bigint CHECK ({c} >= 0)" for c in _COUNTS)


UPGRADE = [
    f"""
    CREATE TABLE account (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        platform text NOT NULL CHECK (platform IN {_PLATFORMS}),
        external_id text NOT NULL CHECK (external_id <> ''),
        handle text NOT NULL CHECK (handle <> ''),
        timezone text NOT NULL DEFAULT 'UTC',
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_account_platform_external_id UNIQUE (platform, external_id),
        CONSTRAINT uq_account_platform_handle UNIQUE (platform, handle)
    )""",
    """
    CREATE TABLE follower_snapshot (
        account_id bigint NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        captured_at timestamptz NOT NULL,
        followers bigint NOT NULL CHECK (followers >= 0),
        source text NOT NULL DEFAULT 'import',
        PRIMARY KEY (account_id, captured_at)
    )""",
    f"""
    CREATE TABLE post (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id bigint NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        platform text NOT NULL CHECK (platform IN {_PLATFORMS}),
        platform_post_id text NOT NULL CHECK (platform_post_id <> ''),
        text text NOT NULL,
        posted_at timestamptz NOT NULL,
        url text,
{_count_columns()},
        engagement bigint GENERATED ALWAYS AS (
            coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0) + coalesce(saves, 0)
        ) STORED,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_post_platform_post_id UNIQUE (platform, platform_post_id)
    )""",
    "CREATE INDEX ix_post_account_posted_at ON post (account_id, posted_at DESC, id DESC)",
    "CREATE INDEX ix_post_posted_at ON post (posted_at DESC, id DESC)",
    f"""
    CREATE TABLE post_metric_snapshot (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        post_id bigint NOT NULL REFERENCES post(id) ON DELETE CASCADE,
        captured_at timestamptz NOT NULL DEFAULT now(),
{_count_columns()},
        source text NOT NULL DEFAULT 'import'
    )""",
    "CREATE INDEX ix_post_metric_snapshot_post ON post_metric_snapshot (post_id, captured_at)",
    """
    CREATE TABLE hashtag (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key text NOT NULL UNIQUE CHECK (key <> ''),
        display text NOT NULL
    )""",
    """
    CREATE TABLE post_hashtag (
        post_id bigint NOT NULL REFERENCES post(id) ON DELETE CASCADE,
        hashtag_id bigint NOT NULL REFERENCES hashtag(id) ON DELETE CASCADE,
        spelling text NOT NULL,
        PRIMARY KEY (post_id, hashtag_id)
    )""",
    "CREATE INDEX ix_post_hashtag_hashtag ON post_hashtag (hashtag_id, post_id)",
    """
    CREATE TABLE hashtag_performance (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        "window" text NOT NULL,
        hashtag_id bigint NOT NULL,
        posts integer NOT NULL,
        avg_engagement double precision NOT NULL,
        median_engagement double precision NOT NULL,
        er_follower double precision,
        er_follower_posts integer NOT NULL,
        er_reach double precision,
        er_reach_posts integer NOT NULL,
        virality double precision,
        virality_posts integer NOT NULL,
        avg_reach double precision,
        reach_posts integer NOT NULL,
        avg_impressions double precision,
        impressions_posts integer NOT NULL,
        computed_at timestamptz NOT NULL,
        PRIMARY KEY (platform, account_id, "window", hashtag_id)
    )""",
    """
    CREATE TABLE hashtag_trend_cell (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        hashtag_id bigint NOT NULL,
        weekday smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
        hour smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
        posts integer NOT NULL,
        engagement_sum bigint NOT NULL,
        avg_engagement double precision NOT NULL,
        PRIMARY KEY (platform, account_id, hashtag_id, weekday, hour)
    )""",
    """
    CREATE TABLE hashtag_daily (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        hashtag_id bigint NOT NULL,
        local_date date NOT NULL,
        posts integer NOT NULL,
        engagement_sum bigint NOT NULL,
        PRIMARY KEY (platform, account_id, hashtag_id, local_date)
    )""",
    """
    CREATE TABLE data_version (
        id integer PRIMARY KEY CHECK (id = 1),
        version bigint NOT NULL
    )""",
    "INSERT INTO data_version (id, version) VALUES (1, 0)",
    """
    CREATE TABLE recompute_state (
        id integer PRIMARY KEY CHECK (id = 1),
        computed_version bigint NOT NULL,
        computed_at timestamptz,
        last_duration_ms integer
    )""",
    "INSERT INTO recompute_state (id, computed_version) VALUES (1, 0)",
]

_TABLES = (
    "recompute_state",
    "data_version",
    "hashtag_daily",
    "hashtag_trend_cell",
    "hashtag_performance",
    "post_hashtag",
    "hashtag",
    "post_metric_snapshot",
    "post",
    "follower_snapshot",
    "account",
)


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"DROP TABLE {table}")
