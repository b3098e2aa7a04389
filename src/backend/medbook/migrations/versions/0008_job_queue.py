"""job queue: procrastinate 3.10.0's schema (jobs, periodic defers, events, workers)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09 09:00:00.000000
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op
from sqlalchemy.util import await_only

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# procrastinate's own schema.sql of the version pinned in pyproject.toml, copied here so this
# revision never changes when the package does. Upgrading procrastinate means a new revision
# that applies its files in procrastinate/sql/migrations/ from 3.10.0 on (ADR 0013);
# tests/jobs/test_schema.py fails until that is done.
SCHEMA = Path(__file__).parents[1] / "sql" / "procrastinate-3.10.0-schema.sql"

TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
DROP_FUNCTIONS = """
DO $$
DECLARE
    function regprocedure;
BEGIN
    FOR function IN
        SELECT p.oid::regprocedure FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        -- CASCADE: the triggers on procrastinate's tables, dropped next anyway.
        EXECUTE 'DROP FUNCTION ' || function || ' CASCADE';
    END LOOP;
END $$
"""
TYPES = (
    "procrastinate_job_to_defer_v1",
    "procrastinate_job_event_type",
    "procrastinate_job_status",
)


def _execute_script(sql: str) -> None:
    # Many statements with dollar-quoted bodies: sent whole through asyncpg's simple query
    # protocol (no parameters), in the migration's transaction.
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    await_only(driver.execute(sql))


def upgrade() -> None:
    _execute_script(SCHEMA.read_text(encoding="utf-8"))


def downgrade() -> None:
    # Functions first: one returns a row of procrastinate_jobs, so it depends on the table.
    op.execute(DROP_FUNCTIONS)
    op.execute(f"DROP TABLE {', '.join(TABLES)}")
    op.execute(f"DROP TYPE {', '.join(TYPES)}")
