"""Hashtags read from the account's own first comment on a post (Instagram).

Many Instagram accounts put their hashtags in their own first comment instead of the caption;
the collector counts those as the post's and `post_hashtag.in_first_comment` marks them (a
hashtag in both the caption and the comment is the caption's: false).

Revision ID: 0010_first_comment_hashtags
Revises: 0009_hashtag_estimate
Create Date: 2026-12-07
"""

from alembic import op

revision = "0010_first_comment_hashtags"
down_revision = "0009_hashtag_estimate"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.execute(
        "ALTER TABLE post_hashtag ADD COLUMN in_first_comment boolean NOT NULL DEFAULT false"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE post_hashtag DROP COLUMN in_first_comment")
