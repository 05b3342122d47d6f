"""Campaign plans: a name, a goal, dates, the accounts/platforms covered, an optional brief,
and the plan as it was made (a JSON snapshot, so the plan shown later is the plan that was
made, whatever the estimates say by then).

`platforms` and `account_ids` are the scope resolved at creation (an account named, or every
account of a platform named without one). No foreign key on the accounts: deleting an account
leaves the campaign and its plan; its review then has no posts of that account.

Revision ID: 0012_campaigns
Revises: 0011_post_language
Create Date: 2026-12-07
"""

from alembic import op

revision = "0012_campaigns"
down_revision = "0011_post_language"
branch_labels = None
depends_on = None

_GOALS = "('engagement', 'reach', 'virality', 'er_follower', 'followers')"
_WINDOWS = "('7d', '30d', '90d', '365d', 'all')"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE campaign (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL CHECK (name <> '' AND length(name) <= 200),
            goal text NOT NULL CHECK (goal IN {_GOALS}),
            starts_on date NOT NULL,
            ends_on date NOT NULL,
            platforms text[] NOT NULL,
            account_ids bigint[] NOT NULL,
            brief text CHECK (length(brief) <= 2000),
            "window" text NOT NULL CHECK ("window" IN {_WINDOWS}),
            plan jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_campaign_dates CHECK (ends_on >= starts_on)
        )"""
    )
    op.execute("CREATE INDEX ix_campaign_created ON campaign (created_at DESC, id DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE campaign")
