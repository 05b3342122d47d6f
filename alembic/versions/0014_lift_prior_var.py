"""Each lift row keeps the variance its own is moderated towards (`prior_var`).

In a platform's or all accounts' list, a hashtag's residual variance is moderated towards the
mean of the pooled variances of the accounts its posts come from, not the whole list's
(docs/metrics.md, "The hashtag estimate", step 1). A full recompute stores it per row, and
incremental passes hold it fixed, as they hold the row's offset and residual spread: an update
that moves one account's posts of a hashtag does not read the hashtag's rows of every other
account.

Revision ID: 0014_lift_prior_var
Revises: 0013_reports_alerts
Create Date: 2026-12-07
"""

from alembic import op

revision = "0014_lift_prior_var"
down_revision = "0013_reports_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE hashtag_lift ADD COLUMN prior_var double precision")
    # The stored figures were computed with the list's pooled variance: recompute them.
    op.execute("UPDATE data_version SET version = version + 1")


def downgrade() -> None:
    op.execute("ALTER TABLE hashtag_lift DROP COLUMN prior_var")
