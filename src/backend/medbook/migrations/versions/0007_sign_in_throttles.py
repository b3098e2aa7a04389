"""sign-in throttles per email and client address (replacing the account-wide lockout)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table only: staff_members.failed_sign_ins and locked_until stay until no process of
    # the version before (which still reads them) can be running, then a later migration drops
    # them.
    op.create_table(
        "staff_sign_in_throttles",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("account_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("client_key", sa.LargeBinary(length=32), nullable=True),
        sa.Column("staff_id", sa.UUID(), nullable=True),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_staff_sign_in_throttles_failures")),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_members.id"],
            name=op.f("fk_staff_sign_in_throttles_staff_id_staff_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sign_in_throttles")),
        sa.UniqueConstraint(
            "account_key",
            "client_key",
            name="one_throttle_per_address",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        op.f("ix_staff_sign_in_throttles_staff_id"), "staff_sign_in_throttles", ["staff_id"]
    )
    op.create_index(
        "ix_staff_sign_in_throttles_updated_at", "staff_sign_in_throttles", ["updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_staff_sign_in_throttles_updated_at", table_name="staff_sign_in_throttles")
    op.drop_index(op.f("ix_staff_sign_in_throttles_staff_id"), table_name="staff_sign_in_throttles")
    op.drop_table("staff_sign_in_throttles")
