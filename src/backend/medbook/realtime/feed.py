"""SQL for the change feed: read events in commit-safe order, prune old ones.

Runs on a plain asyncpg connection: the hub's own, or the one under a request's session.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.realtime.changes import Change
from medbook.realtime.cursor import Cursor

NOTIFY_CHANNEL = "medbook_changes"
_LAST = Cursor(2**63 - 1, 2**63 - 1)

# Only events of transactions older than every transaction still running are read: such a
# transaction can no longer commit, so nothing will ever appear behind the last event read.
# `held_back` says whether committed events wait behind a transaction still running (read
# again soon); `head` is the newest readable position; `horizon` is where pruning reached.
_READ = """
WITH snapshot AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
meta AS (
    -- "Is any event at or past xmin?" asked of the newest event alone: an EXISTS here is
    -- planned as a scan of the whole feed, since it usually finds nothing.
    SELECT coalesce((SELECT xid FROM change_events ORDER BY xid DESC, id DESC LIMIT 1)
                    >= (SELECT xmin FROM snapshot), false) AS held_back,
           (SELECT xid::text || '-' || id FROM change_events
             WHERE xid < (SELECT xmin FROM snapshot) ORDER BY xid DESC, id DESC LIMIT 1) AS head,
           (SELECT xid::text || '-' || id FROM change_feed_horizon) AS horizon
)
SELECT meta.held_back, meta.head, meta.horizon, page.*
FROM meta LEFT JOIN LATERAL (
    SELECT e.id, e.xid::text AS xid, e.recorded_at, e.appointment_id, e.kind, e.status,
           e.previous_status, e.clinic_id, e.practitioner_id, e.room_id, e.service_id,
           e.patient_id, e.starts_at, e.ends_at, e.blocked_from, e.blocked_until,
           e.hold_expires_at, e.rescheduled_from_id, c.timezone
    FROM change_events e JOIN clinics c ON c.id = e.clinic_id
    WHERE (e.xid, e.id) > ($1::text::xid8, $2::bigint)
      AND (e.xid, e.id) <= ($3::text::xid8, $4::bigint)
      AND e.xid < (SELECT xmin FROM snapshot)
      AND ($5::uuid[] IS NULL OR e.clinic_id = ANY($5::uuid[]))
      AND ($6::uuid[] IS NULL OR e.practitioner_id = ANY($6::uuid[]))
      AND ($7::uuid IS NULL OR e.patient_id = $7::uuid)
      AND ($8::timestamptz IS NULL OR e.blocked_until > $8::timestamptz)
      AND ($9::timestamptz IS NULL OR e.blocked_from < $9::timestamptz)
    ORDER BY e.xid, e.id
    LIMIT $10
) page ON true
"""


@dataclass(frozen=True, slots=True)
class Scope:
    """A first, coarse cut made in SQL; Filter.matches makes the exact one."""

    clinic_ids: Sequence[uuid.UUID] | None = None
    practitioner_ids: Sequence[uuid.UUID] | None = None
    patient_id: uuid.UUID | None = None
    span: tuple[datetime, datetime] | None = None


@dataclass(frozen=True, slots=True)
class Page:
    changes: list[Change]
    head: Cursor  # the newest position readable now
    horizon: Cursor  # cursors older than this have missed pruned events
    held_back: bool  # committed events wait behind a transaction still running


async def read(
    connection: asyncpg.Connection,
    after: Cursor,
    *,
    limit: int,
    upto: Cursor | None = None,
    scope: Scope | None = None,
) -> Page:
    scope = scope or Scope()
    upto = upto or _LAST
    span = scope.span or (None, None)
    rows = await connection.fetch(
        _READ,
        str(after.xid),
        after.id,
        str(upto.xid),
        upto.id,
        _list(scope.clinic_ids),
        _list(scope.practitioner_ids),
        scope.patient_id,
        span[0],
        span[1],
        limit,
    )
    first = rows[0]
    horizon = Cursor.parse(first["horizon"])
    head = max(Cursor.parse(first["head"]) if first["head"] else Cursor.ORIGIN, horizon)
    changes = [_change(row) for row in rows if row["id"] is not None]
    return Page(changes, head, horizon, bool(first["held_back"]))


def _list(values: Sequence[uuid.UUID] | None) -> list[uuid.UUID] | None:
    return None if values is None else list(values)


def _change(row: asyncpg.Record) -> Change:
    return Change(
        cursor=Cursor(int(row["xid"]), row["id"]),
        recorded_at=row["recorded_at"],
        appointment_id=row["appointment_id"],
        kind=row["kind"],
        status=row["status"],
        previous_status=row["previous_status"],
        clinic_id=row["clinic_id"],
        practitioner_id=row["practitioner_id"],
        room_id=row["room_id"],
        service_id=row["service_id"],
        patient_id=row["patient_id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        blocked_from=row["blocked_from"],
        blocked_until=row["blocked_until"],
        hold_expires_at=row["hold_expires_at"],
        rescheduled_from_id=row["rescheduled_from_id"],
        timezone=row["timezone"],
    )


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under a session, for the feed's SQL (inside its transaction)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return driver


# Prune what every reader has long had: readable events recorded before the retention period.
# The horizon moves to the newest pruned position, so an older cursor is told it is too old.
_PRUNE = """
WITH pruned AS (
    DELETE FROM change_events
     WHERE recorded_at < now() - make_interval(days => $1::int)
       AND xid < pg_snapshot_xmin(pg_current_snapshot())
    RETURNING xid, id
), newest AS (
    SELECT xid, id FROM pruned ORDER BY xid DESC, id DESC LIMIT 1
)
UPDATE change_feed_horizon h SET xid = newest.xid, id = newest.id
  FROM newest
 WHERE (newest.xid, newest.id) > (h.xid, h.id)
RETURNING (SELECT count(*) FROM pruned) AS pruned
"""


async def prune(connection: asyncpg.Connection, retention_days: int) -> int:
    """Delete events older than the retention period; answers how many went."""
    pruned = await connection.fetchval(_PRUNE, retention_days)
    return int(pruned or 0)
