"""The hashtag estimate: adjusted for companions and timing, shrunk by a mixture prior.

`hashtag_lift` loses the normal-prior shrinkage `weight` and gains the joint fit's per-row
offset and residual spread (held fixed by incremental passes), the adjusted estimate and its
standard error, the local false sign rate and the q-value. Slot cells (and best slots) gain
the same estimate: score, its interval, lfsr, q-value and verdict. `lift_prior` becomes one row per
(scope, window, goal, mixture component): the component's sd and weight, one point of the
list's q-value curve, and the pooled residual variance. The stored priors are emptied (the
next full recompute, which the worker runs at start, refits them).

Revision ID: 0009_hashtag_estimate
Revises: 0008_read_cache_notify
Create Date: 2026-12-07
"""

from alembic import op

revision = "0009_hashtag_estimate"
down_revision = "0008_read_cache_notify"
branch_labels = None
depends_on = None

UPGRADE = [
    "ALTER TABLE hashtag_lift DROP COLUMN weight, "
    "ADD COLUMN offset_sum double precision, ADD COLUMN resid_m2 double precision, "
    "ADD COLUMN estimate double precision, ADD COLUMN estimate_se double precision, "
    "ADD COLUMN lfsr double precision, ADD COLUMN qvalue double precision",
    "DELETE FROM lift_prior",
    "ALTER TABLE lift_prior DROP CONSTRAINT lift_prior_pkey, DROP COLUMN tau2, "
    "ADD COLUMN component smallint NOT NULL, ADD COLUMN sd double precision NOT NULL, "
    "ADD COLUMN weight double precision NOT NULL, "
    "ADD COLUMN knot_lfsr double precision NOT NULL, ADD COLUMN knot_qvalue double precision, "
    "ADD COLUMN null_scale double precision, "
    'ADD PRIMARY KEY (platform, account_id, "window", goal, component)',
    *(
        f"ALTER TABLE {table} ADD COLUMN score double precision, "
        "ADD COLUMN score_low double precision, ADD COLUMN score_high double precision, "
        "ADD COLUMN lfsr double precision, ADD COLUMN qvalue double precision, "
        "ADD COLUMN verdict text"
        for table in ("hashtag_slot", "hashtag_best_slot")
    ),
    # The stored figures were computed with the old estimator: ask for a full recompute.
    "UPDATE data_version SET version = version + 1",
]

DOWNGRADE = [
    *(
        f"ALTER TABLE {table} DROP COLUMN score, DROP COLUMN score_low, DROP COLUMN score_high, "
        "DROP COLUMN lfsr, DROP COLUMN qvalue, DROP COLUMN verdict"
        for table in ("hashtag_slot", "hashtag_best_slot")
    ),
    "DELETE FROM lift_prior",
    "ALTER TABLE lift_prior DROP CONSTRAINT lift_prior_pkey, DROP COLUMN component, "
    "DROP COLUMN sd, DROP COLUMN weight, DROP COLUMN knot_lfsr, DROP COLUMN knot_qvalue, "
    "DROP COLUMN null_scale, "
    "ADD COLUMN tau2 double precision NOT NULL, "
    'ADD PRIMARY KEY (platform, account_id, "window", goal)',
    "ALTER TABLE hashtag_lift DROP COLUMN offset_sum, DROP COLUMN resid_m2, "
    "DROP COLUMN estimate, DROP COLUMN estimate_se, DROP COLUMN lfsr, DROP COLUMN qvalue, "
    "ADD COLUMN weight double precision",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
