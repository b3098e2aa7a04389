"""refunds made at the gateway (its dashboard), recorded by reconciliation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 07:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = (
    "'patient_cancelled', 'late_cancellation', 'no_show', 'clinic_cancelled', 'slot_taken', "
    "'not_needed', 'staff'"
)
AFTER = f"{BEFORE}, 'made_at_gateway'"


def upgrade() -> None:
    # NOT VALID, then VALIDATE: the table is not locked against writes while old rows are checked.
    op.execute("ALTER TABLE refunds DROP CONSTRAINT ck_refunds_reason")
    op.execute(
        f"ALTER TABLE refunds ADD CONSTRAINT ck_refunds_reason CHECK (reason IN ({AFTER})) NOT VALID"
    )
    op.execute("ALTER TABLE refunds VALIDATE CONSTRAINT ck_refunds_reason")


def downgrade() -> None:
    # Relabelling refunds made at the gateway as one of ours would be a lie: refuse instead.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM refunds WHERE reason = 'made_at_gateway') THEN "
        "RAISE EXCEPTION 'refunds made at the gateway exist; a downgrade would lose them'; "
        "END IF; END $$"
    )
    op.execute("ALTER TABLE refunds DROP CONSTRAINT ck_refunds_reason")
    op.execute(f"ALTER TABLE refunds ADD CONSTRAINT ck_refunds_reason CHECK (reason IN ({BEFORE}))")
