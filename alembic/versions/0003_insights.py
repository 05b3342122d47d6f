"""Insight tables (lift with CI and score per goal, slots, momentum, content reach, hashtag
pairs, sentiment) and the sentiment score on each post.

Column names match the polars frames in hashtag_core.analytics.insight_frames, so the recompute
writes every table the same way.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = [
    """
    CREATE TABLE hashtag_lift (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        "window" text NOT NULL,
        goal text NOT NULL,
        hashtag_id bigint NOT NULL,
        posts bigint NOT NULL,
        mean_log_ratio double precision,
        sd_log_ratio double precision,
        lift double precision,
        ci_low double precision,
        ci_high double precision,
        weight double precision,
        score double precision,
        score_low double precision,
        score_high double precision,
        verdict text NOT NULL,
        PRIMARY KEY (platform, account_id, "window", goal, hashtag_id)
    )""",
    """
    CREATE TABLE hashtag_slot (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        hashtag_id bigint NOT NULL,
        weekday smallint NOT NULL,
        hour smallint NOT NULL,
        posts bigint NOT NULL,
        mean_log_ratio double precision,
        sd_log_ratio double precision,
        lift double precision,
        ci_low double precision,
        ci_high double precision,
        PRIMARY KEY (platform, account_id, hashtag_id, weekday, hour)
    )""",
    """
    CREATE TABLE hashtag_best_slot (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        hashtag_id bigint NOT NULL,
        weekday smallint NOT NULL,
        hour smallint NOT NULL,
        posts bigint NOT NULL,
        mean_log_ratio double precision,
        sd_log_ratio double precision,
        lift double precision,
        ci_low double precision,
        ci_high double precision,
        rank bigint NOT NULL,
        PRIMARY KEY (platform, account_id, hashtag_id, rank)
    )""",
    """
    CREATE TABLE hashtag_momentum (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        hashtag_id bigint NOT NULL,
        recent_posts bigint NOT NULL,
        recent_mean_log_ratio double precision,
        previous_posts bigint NOT NULL,
        previous_mean_log_ratio double precision,
        difference_log double precision,
        change double precision,
        ci_low double precision,
        ci_high double precision,
        direction text NOT NULL,
        PRIMARY KEY (platform, account_id, hashtag_id)
    )""",
    """
    CREATE TABLE hashtag_content_reach (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        "window" text NOT NULL,
        hashtag_id bigint NOT NULL,
        posts bigint NOT NULL,
        reach_ratio double precision,
        ci_low double precision,
        ci_high double precision,
        PRIMARY KEY (platform, account_id, "window", hashtag_id)
    )""",
    """
    CREATE TABLE hashtag_pair (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        hashtag_a bigint NOT NULL,
        hashtag_b bigint NOT NULL,
        posts bigint NOT NULL,
        pair_mean_log double precision,
        pair_lift double precision,
        a_only_posts bigint NOT NULL,
        a_only_mean_log double precision,
        b_only_posts bigint NOT NULL,
        b_only_mean_log double precision,
        better_single bigint,
        synergy_log double precision,
        synergy double precision,
        synergy_low double precision,
        synergy_high double precision,
        PRIMARY KEY (platform, account_id, hashtag_a, hashtag_b)
    )""",
    """
    CREATE TABLE hashtag_sentiment (
        platform text NOT NULL,
        account_id bigint NOT NULL,
        hashtag_id bigint NOT NULL,
        posts bigint NOT NULL,
        mean_compound double precision,
        positive_share double precision,
        neutral_share double precision,
        negative_share double precision,
        correlation double precision,
        corr_low double precision,
        corr_high double precision,
        PRIMARY KEY (platform, account_id, hashtag_id)
    )""",
]
_NAMES = (
    "hashtag_lift",
    "hashtag_slot",
    "hashtag_best_slot",
    "hashtag_momentum",
    "hashtag_content_reach",
    "hashtag_pair",
    "hashtag_sentiment",
)


def upgrade() -> None:
    op.execute(
        "ALTER TABLE post ADD COLUMN sentiment double precision CHECK (sentiment BETWEEN -1 AND 1)"
    )
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    for name in _NAMES:
        op.execute(f"DROP TABLE {name}")
    op.execute("ALTER TABLE post DROP COLUMN sentiment")
