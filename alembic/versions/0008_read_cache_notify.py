"""Tell the API's read caches when anything they answer from changes.

A statement-level trigger on every table the read endpoints answer from sends
`NOTIFY hashtag_read_cache` (payload: the table's name) after each statement that changes it:
posts, links, hashtags, accounts, follower and metric snapshots, the aggregate tables, the
recompute bookkeeping. Each API process listens on one connection and drops its cached
answers on every notification (hashtag_api.readcache). PostgreSQL delivers a notification
when its transaction commits, and only then; notifications of one transaction with the same
payload are folded into one, so a 1,000-row COPY sends one.

Revision ID: 0008_read_cache_notify
Revises: 0007_windowed_slots_sentiment
Create Date: 2026-12-05
"""

from alembic import op

revision = "0008_read_cache_notify"
down_revision = "0007_windowed_slots_sentiment"
branch_labels = None
depends_on = None

#: The tables the cached read endpoints answer from (not api_key, dirty_post, post_refresh:
#: no cached answer shows them).
WATCHED = (
    "account",
    "account_baseline",
    "data_version",
    "follower_snapshot",
    "hashtag",
    "hashtag_best_slot",
    "hashtag_content_reach",
    "hashtag_daily",
    "hashtag_lift",
    "hashtag_momentum",
    "hashtag_pair",
    "hashtag_performance",
    "hashtag_sentiment",
    "hashtag_slot",
    "hashtag_trend_cell",
    "lift_prior",
    "post",
    "post_hashtag",
    "post_metric_snapshot",
    "recompute_state",
)

_FUNCTION = """
CREATE FUNCTION hashtag_read_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hashtag_read_cache', TG_TABLE_NAME);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(_FUNCTION)
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER {table}_read_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION hashtag_read_cache_notify()"
        )


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER {table}_read_cache ON {table}")
    op.execute("DROP FUNCTION hashtag_read_cache_notify()")
