"""Scheduled reports and alerts: who gets what, the alerts found, and every delivery.

* `report_schedule`: a weekly or monthly HTML report (top movers, recommendations, the
  hashtag report CSV) for a recipient list, in a scope (platform/account), window and goal.
* `alert_subscription`: a signed webhook (URL + secret) and/or email recipients for some alert
  kinds (verdict_flip, post_outlier, sync_stale), optionally limited to a scope; verdict flips
  are watched in one window and goal.
* `alert_event`: each alert found once (`key` unique: a verdict flip per full recompute, a post
  once, an account's outage once per last success).
* `delivery`: one row per message to one recipient (`idempotency_key` unique, so a job run twice
  or two workers never send it twice), its status and attempt count; `delivery_attempt` records
  every attempt.
* `account.last_success_at`: when the account's last collection succeeded (`last_sync_at` is
  set by failures too), for the sync_stale alert.

Revision ID: 0013_reports_alerts
Revises: 0012_campaigns
Create Date: 2026-12-07
"""

from alembic import op

revision = "0013_reports_alerts"
down_revision = "0012_campaigns"
branch_labels = None
depends_on = None

_KINDS = "('verdict_flip', 'post_outlier', 'sync_stale')"
_PLATFORMS = "('x', 'instagram', 'facebook', 'linkedin')"
_WINDOWS = "('7d', '30d', '90d', '365d', 'all')"
_GOALS = "('engagement', 'reach', 'virality', 'er_follower', 'followers')"

UPGRADE = [
    """
    CREATE TABLE report_schedule (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL CHECK (name <> ''),
        recipients text[] NOT NULL CHECK (cardinality(recipients) BETWEEN 1 AND 50),
        cadence text NOT NULL CHECK (cadence IN ('weekly', 'monthly')),
        platform text CHECK (platform IN """
    + _PLATFORMS
    + """),
        account_id bigint REFERENCES account(id) ON DELETE CASCADE,
        "window" text NOT NULL CHECK ("window" IN """
    + _WINDOWS
    + """),
        goal text NOT NULL CHECK (goal IN """
    + _GOALS
    + """),
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    """
    CREATE TABLE alert_subscription (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL CHECK (name <> ''),
        webhook_url text,
        webhook_secret text,
        emails text[] NOT NULL DEFAULT '{}' CHECK (cardinality(emails) <= 50),
        kinds text[] NOT NULL CHECK (cardinality(kinds) >= 1 AND kinds <@ ARRAY"""
    + _KINDS.replace("(", "[").replace(")", "]")
    + """),
        platform text CHECK (platform IN """
    + _PLATFORMS
    + """),
        account_id bigint REFERENCES account(id) ON DELETE CASCADE,
        "window" text NOT NULL DEFAULT 'all' CHECK ("window" IN """
    + _WINDOWS
    + """),
        goal text NOT NULL DEFAULT 'engagement' CHECK (goal IN """
    + _GOALS
    + """),
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL)),
        CHECK (webhook_url IS NOT NULL OR cardinality(emails) >= 1)
    )""",
    """
    CREATE TABLE alert_event (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN """
    + _KINDS
    + """),
        key text NOT NULL UNIQUE,
        platform text NOT NULL,
        account_id bigint NOT NULL,
        "window" text,
        goal text,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    "CREATE INDEX ix_alert_event_created ON alert_event (created_at, id)",
    """
    CREATE TABLE delivery (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        idempotency_key text NOT NULL UNIQUE,
        channel text NOT NULL CHECK (channel IN ('webhook', 'email')),
        kind text NOT NULL CHECK (kind IN ('report', 'verdict_flip', 'post_outlier',
                                           'sync_stale')),
        schedule_id bigint REFERENCES report_schedule(id) ON DELETE SET NULL,
        subscription_id bigint REFERENCES alert_subscription(id) ON DELETE SET NULL,
        event_id bigint REFERENCES alert_event(id) ON DELETE CASCADE,
        recipient text NOT NULL,
        subject text NOT NULL,
        status text NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        lease_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz
    )""",
    "CREATE INDEX ix_delivery_open ON delivery (id) WHERE status IN ('pending', 'sending')",
    """
    CREATE TABLE delivery_attempt (
        delivery_id bigint NOT NULL REFERENCES delivery(id) ON DELETE CASCADE,
        attempt integer NOT NULL CHECK (attempt >= 1),
        at timestamptz NOT NULL DEFAULT now(),
        ok boolean NOT NULL,
        status_code integer,
        error text,
        duration_ms integer NOT NULL,
        PRIMARY KEY (delivery_id, attempt)
    )""",
    "ALTER TABLE account ADD COLUMN last_success_at timestamptz",
    # Accounts whose last collection went well succeeded then.
    "UPDATE account SET last_success_at = last_sync_at "
    "WHERE last_error IS NULL AND last_sync_at IS NOT NULL",
]

DOWNGRADE = [
    "ALTER TABLE account DROP COLUMN last_success_at",
    "DROP TABLE delivery_attempt",
    "DROP TABLE delivery",
    "DROP TABLE alert_event",
    "DROP TABLE alert_subscription",
    "DROP TABLE report_schedule",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
