"""SQL for appointments, holds and blocks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    Integer,
    bindparam,
    column,
    exists,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import TSTZRANGE, UUID, Range
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Update

from medbook.booking.models import Appointment
from medbook.clinics.models import Clinic
from medbook.clinics.values import BookedVisit
from medbook.kernel.statuses import ACTIVE_STATUSES, Status, active_statuses_sql

ACTIVE = [status.value for status in ACTIVE_STATUSES]


async def database_now(session: AsyncSession) -> datetime:
    """The transaction's timestamp: the one clock every hold and expiry is measured by.

    now() is fixed for the whole transaction, so it is asked once and remembered for it.
    """
    transaction = session.sync_session.get_transaction()
    remembered = session.info.get(_NOW)
    if remembered is not None and transaction is not None and remembered[0] is transaction:
        return remembered[1]  # type: ignore[no-any-return]
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    remember_now(session, now)
    return now


_NOW = "medbook.database_now"


def remember_now(session: AsyncSession, now: datetime) -> None:
    """Record now() read as part of another query, sparing a round trip."""
    session.info[_NOW] = (session.sync_session.get_transaction(), now)


# The hot path's statements are built once: building one costs more Python than running it.
_COUNT_LIVE_HOLDS = select(func.count()).where(
    Appointment.holder == bindparam("holder"),
    Appointment.status == Status.HELD,
    Appointment.hold_expires_at > func.now(),
)
_EXPIRE_STALE_HOLDS = (
    update(Appointment)
    .where(
        # room_id = NULL matches nothing: with no room, only the practitioner's rows count.
        or_(
            Appointment.practitioner_id == bindparam("for_practitioner"),
            Appointment.room_id == bindparam("for_room", type_=UUID(as_uuid=True)),
        ),
        Appointment.status == Status.HELD,
        Appointment.hold_expires_at <= func.now(),
        Appointment.blocked.op("&&")(bindparam("overlapping", type_=TSTZRANGE)),
    )
    .values(status=Status.EXPIRED, updated_at=func.now())
    .execution_options(synchronize_session=False)
)


# Booking locks (ADR 0010). Every transaction that writes an appointment first takes, in one
# statement and in key order, a transaction-level advisory lock per practitioner and per room
# the write concerns; only then does it lock or write appointment rows. Writers of one
# practitioner's or room's time so queue instead of deadlocking on each other's rows and on the
# exclusion constraints' checks. A lock's key is the first 64 bits of SHA-256 of its name
# ("practitioner:<id>", "room:<id>", "patient:<id>" for a holder), computed by PostgreSQL so
# that every statement agrees. PostgreSQL evaluates pg_advisory_xact_lock after the ORDER BY
# (SELECT's documentation: output expressions not used in the ORDER BY are computed after it).
_LOCK_NAMES = text("""
SELECT pg_advisory_xact_lock(key)
  FROM (SELECT DISTINCT ('x' || left(encode(sha256(convert_to(name, 'UTF8')), 'hex'), 16))::bit(64)::bigint AS key
          FROM unnest(CAST(:names AS text[])) AS name) AS keys
 ORDER BY key
""")
# The same locks as a one-row subquery: an INSERT that selects from it cannot write its row
# before it holds every lock, so locks and insert are one statement (one round trip).
_LOCKS_TAKEN = (
    text("""
SELECT count(*) AS taken
  FROM (SELECT pg_advisory_xact_lock(key)
          FROM (SELECT DISTINCT ('x' || left(encode(sha256(convert_to(name, 'UTF8')), 'hex'), 16))::bit(64)::bigint AS key
                  FROM unnest(CAST(:lock_names AS text[])) AS name) AS keys
         ORDER BY key) AS locks
""")
    .columns(column("taken", Integer))
    .subquery("booking_locks")
)
_LOCK_APPOINTMENT_OWNERS = text("""
SELECT pg_advisory_xact_lock(key)
  FROM (SELECT DISTINCT ('x' || left(encode(sha256(convert_to(owner.name, 'UTF8')), 'hex'), 16))::bit(64)::bigint AS key
          FROM appointments a
         CROSS JOIN LATERAL (VALUES ('practitioner:' || a.practitioner_id),
                                    ('room:' || a.room_id)) AS owner(name)
         WHERE a.id = :appointment_id AND owner.name IS NOT NULL) AS keys
 ORDER BY key
""")


@dataclass(frozen=True, slots=True)
class TimeOwner:
    """Whose time a booking takes: a practitioner's, and a room's if it has one."""

    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None


def lock_names(*owners: TimeOwner) -> list[str]:
    names = []
    for owner in owners:
        names.append(f"practitioner:{owner.practitioner_id}")
        if owner.room_id is not None:
            names.append(f"room:{owner.room_id}")
    return names


async def lock_holder(session: AsyncSession, holder: str) -> None:
    """Serialise one client's hold attempts, so its live-hold cap cannot be raced past.

    Taken before any booking lock and on its own: a transaction holding a practitioner's or a
    room's lock never waits for a holder's, so the two kinds cannot wait on each other.
    """
    await session.execute(_LOCK_NAMES, {"names": [holder]})


async def lock_time(session: AsyncSession, *owners: TimeOwner) -> None:
    """Take the booking locks of these practitioners and rooms (all at once, in key order)."""
    await session.execute(_LOCK_NAMES, {"names": lock_names(*owners)})


async def lock_time_of(session: AsyncSession, appointment_id: uuid.UUID) -> None:
    """Take the booking locks of an existing appointment's practitioner and room.

    Its practitioner and room never change (a move makes a new row), so they can be read
    before its row is locked."""
    await session.execute(_LOCK_APPOINTMENT_OWNERS, {"appointment_id": appointment_id})


async def expire_stale_holds(
    session: AsyncSession,
    practitioner_id: uuid.UUID,
    room_id: uuid.UUID | None,
    blocked: Range[datetime],
) -> None:
    """Mark expired every held row past its expiry that overlaps `blocked` for this practitioner
    or room, so the exclusion constraints see the slot free the instant its hold ran out."""
    await session.execute(
        _EXPIRE_STALE_HOLDS,
        {"for_practitioner": practitioner_id, "for_room": room_id, "overlapping": blocked},
    )


@dataclass(frozen=True, slots=True)
class HoldTerms:
    ttl_seconds: int  # of database time
    max_live_holds: int  # per holder, this one included


@dataclass(frozen=True, slots=True)
class NewAppointment:
    """A row to insert: an appointment, a hold (with its holder) or a block of time."""

    kind: str  # appointment or block
    status: Status
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    blocked: Range[datetime]  # the visit with its buffers: what the exclusion constraints compare
    source: str  # online, staff or walk_in
    room_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None  # None only for a block
    patient_id: uuid.UUID | None = None
    holder: str | None = None  # a hold's: who holds it (patient:<id> or staff:<id>)
    note: str = ""
    rescheduled_from_id: uuid.UUID | None = None

    @property
    def owner(self) -> TimeOwner:
        return TimeOwner(self.practitioner_id, self.room_id)


_NEW_APPOINTMENT_COLUMNS = tuple(field.name for field in fields(NewAppointment))


@lru_cache(maxsize=2)
def _insert_locked(hold: bool) -> Executable:
    columns = Appointment.__table__.c
    names = list(_NEW_APPOINTMENT_COLUMNS)
    values: list[Any] = [bindparam(name, type_=columns[name].type) for name in names]
    source = select(*values).select_from(_LOCKS_TAKEN)
    if hold:
        names.append("hold_expires_at")
        ttl = bindparam("hold_ttl_seconds", type_=Integer)
        source = source.add_columns(func.now() + func.make_interval(0, 0, 0, 0, 0, 0, ttl))
        source = source.where(_COUNT_LIVE_HOLDS.scalar_subquery() < bindparam("max_live_holds"))
    # As a SELECT of Appointment from the INSERT: one statement with its own parameters (not
    # the ORM's bulk insert of a list of rows), answering loaded Appointment objects.
    inserted = insert(Appointment).from_select(names, source).returning(Appointment)
    return select(Appointment).from_statement(inserted)


async def insert_appointment(
    session: AsyncSession, row: NewAppointment, hold: HoldTerms | None = None
) -> Appointment | None:
    """Take the booking locks of the row's practitioner and room and insert it, in one
    statement: a racer that loses holds the locks only until its refusal is rolled back.

    A hold's expiry is the database's now() plus the TTL; its holder's live holds are counted
    in the same statement, and None means they already reach the cap (nothing is written).
    Count only under the holder's lock (lock_holder), so the count sees every earlier hold.
    """
    parameters: dict[str, object] = {name: getattr(row, name) for name in _NEW_APPOINTMENT_COLUMNS}
    parameters["lock_names"] = lock_names(row.owner)
    if hold is not None:
        parameters |= {
            "hold_ttl_seconds": hold.ttl_seconds,
            "max_live_holds": hold.max_live_holds,
        }
    statement = _insert_locked(hold is not None)
    appointment: Appointment | None = (await session.scalars(statement, parameters)).one_or_none()
    return appointment


_GET_APPOINTMENT = (
    select(Appointment, func.now())
    .join(Appointment.clinic)
    .options(contains_eager(Appointment.clinic))
    .where(Appointment.id == bindparam("appointment_id"))
)
# populate_existing: a row read earlier in the transaction, unlocked, is read again once locked.
_GET_APPOINTMENT_FOR_UPDATE = _GET_APPOINTMENT.with_for_update(of=Appointment).execution_options(
    populate_existing=True
)


async def get_appointment(
    session: AsyncSession, appointment_id: uuid.UUID, *, for_update: bool = False
) -> Appointment | None:
    """The appointment (locked if asked) with its clinic, and now() remembered: one round trip
    for what every action on an appointment needs first."""
    query = _GET_APPOINTMENT_FOR_UPDATE if for_update else _GET_APPOINTMENT
    row = (await session.execute(query, {"appointment_id": appointment_id})).one_or_none()
    if row is None:
        return None
    remember_now(session, row[1])
    appointment: Appointment = row[0]
    return appointment


def loaded_clinic(appointment: Appointment) -> Clinic | None:
    """The appointment's clinic if it was read with the row (get_appointment joins it), else
    None: an inserted row comes back without it, and reading it lazily is not allowed."""
    if "clinic" in inspect(appointment).unloaded:
        return None
    return appointment.clinic


@lru_cache(maxsize=32)
def _status_update(keys: tuple[str, ...]) -> Update:
    changes: dict[str, Any] = {key: bindparam(f"new_{key}") for key in keys}
    return (
        update(Appointment)
        .where(Appointment.id == bindparam("target_id"))
        .values(updated_at=func.now(), **changes)
        .execution_options(synchronize_session=False)
    )


async def set_status(
    session: AsyncSession,
    appointment: Appointment,
    status: Status,
    *,
    late_cancellation: bool | None = None,
    note: str | None = None,
) -> None:
    """Write the new status, and for a cancellation whether it was late and why."""
    changes: dict[str, object] = {"status": status}
    if late_cancellation is not None:
        changes["late_cancellation"] = late_cancellation
    if note is not None:
        changes["note"] = note
    await _write(session, appointment, changes)


async def set_visit_reason(session: AsyncSession, appointment: Appointment, reason: str) -> None:
    await _write(session, appointment, {"visit_reason": reason})


async def _write(
    session: AsyncSession, appointment: Appointment, changes: dict[str, object]
) -> None:
    """Write the changes, and show them on the loaded object without reading the row back: the
    values are known, and updated_at is this transaction's now()."""
    keys = tuple(sorted(changes))
    parameters = {f"new_{key}": changes[key] for key in keys}
    await session.execute(_status_update(keys), {"target_id": appointment.id, **parameters})
    now = await database_now(session)
    for key, value in {**changes, "updated_at": now}.items():
        set_committed_value(appointment, key, value)


@dataclass(frozen=True, slots=True)
class TimetableRule:
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    weekday: int
    start: time
    end: time
    valid_from: date
    valid_until: date | None


@dataclass(frozen=True, slots=True)
class Absence:
    practitioner_id: uuid.UUID
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class BusyPeriod:
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    start: datetime
    end: datetime
    stale: bool = False  # a hold past its expiry, not yet marked expired: free, but in the way


@dataclass(frozen=True, slots=True)
class ScheduleRows:
    """What slot search reads from the database, in plain values."""

    now: datetime
    rules: list[TimetableRule]
    absences: list[Absence]
    closures: list[tuple[uuid.UUID | None, date]]  # (clinic, or None for every clinic; local day)
    busy: list[BusyPeriod]  # stale holds included, and marked


# One round trip for the whole timetable: on the booking path the latency of four separate
# queries costs more than the JSON they come back in. Busy time covers holds, stale ones marked
# (the booking path must expire those before it inserts), and both the practitioners and every
# room their templates name.
# The only interpolation is the fixed list of active statuses, from the Status enum.
SCHEDULE_SQL = text(f"""
SELECT now() AS now,
  (SELECT coalesce(json_agg(json_build_array(w.clinic_id, w.practitioner_id, w.room_id, w.weekday,
                                             w.start_time, w.end_time, w.valid_from, w.valid_until)), '[]')
     FROM weekly_availability w
    WHERE w.practitioner_id = ANY(:practitioners) AND w.clinic_id = ANY(:clinics)
      AND w.valid_from <= :last_day AND (w.valid_until IS NULL OR w.valid_until >= :first_day)
  ) AS rules,
  (SELECT coalesce(json_agg(json_build_array(t.practitioner_id, t.starts_at, t.ends_at)), '[]')
     FROM time_off t
    WHERE t.practitioner_id = ANY(:practitioners) AND t.starts_at < :span_end AND t.ends_at > :span_start
  ) AS absences,
  (SELECT coalesce(json_agg(json_build_array(c.clinic_id, c.day)), '[]')
     FROM clinic_closures c
    WHERE (c.clinic_id IS NULL OR c.clinic_id = ANY(:clinics)) AND c.day BETWEEN :first_day AND :last_day
  ) AS closures,
  (SELECT coalesce(json_agg(json_build_array(a.practitioner_id, a.room_id, lower(a.blocked), upper(a.blocked),
                                             a.status = 'held' AND a.hold_expires_at <= now())), '[]')
     FROM appointments a
    WHERE (a.practitioner_id = ANY(:practitioners)
           OR a.room_id IN (SELECT w.room_id FROM weekly_availability w
                             WHERE w.practitioner_id = ANY(:practitioners) AND w.clinic_id = ANY(:clinics)))
      AND a.status IN ({active_statuses_sql()})
      AND a.blocked && tstzrange(:span_start, :span_end, '[)')
      AND a.id IS DISTINCT FROM CAST(:exclude AS uuid)
  ) AS busy
""")  # noqa: S608


class _Ids(dict[str | None, uuid.UUID | None]):
    """Parses each id string once: the same few ids repeat across hundreds of busy rows."""

    def __missing__(self, value: str | None) -> uuid.UUID | None:
        parsed = uuid.UUID(value) if value is not None else None
        self[value] = parsed
        return parsed

    def required(self, value: str) -> uuid.UUID:
        parsed = self[value]
        assert parsed is not None
        return parsed


async def schedule_rows(
    session: AsyncSession,
    practitioner_ids: Sequence[uuid.UUID],
    clinic_ids: Sequence[uuid.UUID],
    first_day: date,
    last_day: date,
    span: tuple[datetime, datetime],
    exclude_id: uuid.UUID | None = None,
) -> ScheduleRows:
    row = (
        await session.execute(
            SCHEDULE_SQL,
            {
                "practitioners": list(practitioner_ids),
                "clinics": list(clinic_ids),
                "first_day": first_day,
                "last_day": last_day,
                "span_start": span[0],
                "span_end": span[1],
                "exclude": exclude_id,
            },
        )
    ).one()
    remember_now(session, row.now)
    ids = _Ids()
    return ScheduleRows(
        now=row.now,
        rules=[
            TimetableRule(
                ids.required(clinic),
                ids.required(practitioner),
                ids[room],
                weekday,
                time.fromisoformat(start),
                time.fromisoformat(end),
                date.fromisoformat(valid_from),
                date.fromisoformat(valid_until) if valid_until else None,
            )
            for clinic, practitioner, room, weekday, start, end, valid_from, valid_until in _json(
                row.rules
            )
        ],
        absences=[
            Absence(ids.required(p), datetime.fromisoformat(start), datetime.fromisoformat(end))
            for p, start, end in _json(row.absences)
        ],
        closures=[(ids[clinic], date.fromisoformat(day)) for clinic, day in _json(row.closures)],
        busy=[
            BusyPeriod(
                ids.required(p),
                ids[room],
                datetime.fromisoformat(start),
                datetime.fromisoformat(end),
                stale,
            )
            for p, room, start, end, stale in _json(row.busy)
        ],
    )


def _json(value: Any) -> list[list[Any]]:
    # asyncpg hands json back as text; other drivers may have decoded it already.
    decoded: list[list[Any]] = json.loads(value) if isinstance(value, str) else value
    return decoded


async def appointments_between(
    session: AsyncSession, clinic_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[Appointment]:
    query = (
        select(Appointment)
        .where(
            Appointment.clinic_id == clinic_id,
            Appointment.starts_at < end,
            Appointment.ends_at > start,
        )
        .order_by(Appointment.starts_at, Appointment.practitioner_id)
    )
    return (await session.scalars(query)).all()


async def appointments_of_patient(
    session: AsyncSession,
    patient_id: uuid.UUID,
    *,
    upcoming: bool,
    limit: int,
    clinic_ids: Collection[uuid.UUID] | None = None,
) -> Sequence[Appointment]:
    """A patient's bookings with their clinics (only these clinics', if given): not over yet
    (soonest first) or over (latest first). Holds only while they live; holds that ran out or
    were given back never were bookings."""
    now = func.now()
    query = (
        select(Appointment)
        .join(Appointment.clinic)
        .options(contains_eager(Appointment.clinic))
        .where(
            Appointment.patient_id == patient_id,
            Appointment.kind == "appointment",
            Appointment.status.not_in([Status.EXPIRED, Status.RELEASED]),
            or_(Appointment.status != Status.HELD, Appointment.hold_expires_at > now),
            Appointment.ends_at > now if upcoming else Appointment.ends_at <= now,
        )
        .order_by(
            Appointment.starts_at.asc() if upcoming else Appointment.starts_at.desc(),
            Appointment.id,
        )
        .limit(limit)
    )
    if clinic_ids is not None:
        query = query.where(Appointment.clinic_id.in_(clinic_ids))
    return (await session.scalars(query)).all()


# A rescheduled booking is a new row pointing back at the old one: this walks forward to the
# row the booking lives on now (rows are moved at most a handful of times).
_BOOKING_NOW = text(
    """
    WITH RECURSIVE chain(id, depth) AS (
        SELECT id, 0 FROM appointments WHERE id = :appointment_id
        UNION ALL
        SELECT a.id, c.depth + 1 FROM appointments a JOIN chain c ON a.rescheduled_from_id = c.id
    )
    SELECT id FROM chain ORDER BY depth DESC LIMIT 1
    """
)


async def booking_now(session: AsyncSession, appointment_id: uuid.UUID) -> uuid.UUID | None:
    """The row a booking lives on now, after any reschedules (itself if never moved)."""
    found: uuid.UUID | None = (
        await session.execute(_BOOKING_NOW, {"appointment_id": appointment_id})
    ).scalar_one_or_none()
    return found


async def future_confirmed(
    session: AsyncSession,
    *,
    practitioner_id: uuid.UUID | None = None,
    clinic_id: uuid.UUID | None = None,
    service_ids: Collection[uuid.UUID] | None = None,
    overlapping: tuple[datetime, datetime] | None = None,
) -> list[BookedVisit]:
    """Confirmed appointments starting after now (the database's), narrowed as asked, each with
    its clinic's timezone."""
    query = (
        select(
            Appointment.id,
            Appointment.clinic_id,
            Appointment.practitioner_id,
            Appointment.service_id,
            Appointment.starts_at,
            Appointment.ends_at,
            Clinic.timezone,
        )
        .join(Clinic, Clinic.id == Appointment.clinic_id)
        .where(Appointment.status == Status.CONFIRMED.value, Appointment.starts_at > func.now())
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if practitioner_id is not None:
        query = query.where(Appointment.practitioner_id == practitioner_id)
    if clinic_id is not None:
        query = query.where(Appointment.clinic_id == clinic_id)
    if service_ids is not None:
        query = query.where(Appointment.service_id.in_(service_ids))
    if overlapping is not None:
        start, end = overlapping
        query = query.where(Appointment.starts_at < end, Appointment.ends_at > start)
    return [BookedVisit(*row) for row in await session.execute(query)]


def patient_booked_at(
    patient_id: ColumnExpressionArgument[uuid.UUID], clinic_ids: Collection[uuid.UUID]
) -> ColumnElement[bool]:
    """The patient (a patients.id column of the caller's query) has a booking at one of these
    clinics, now or ever: a patient of theirs (ADR 0009). The patients domain scopes the desk's
    search by it without reading our table (app.py wires it into patients' BookedAt port).

    A hold counts only while it lives; one that ran out or was given back never was a booking.
    """
    return exists().where(
        Appointment.patient_id == patient_id,
        Appointment.clinic_id.in_(clinic_ids),
        Appointment.kind == "appointment",
        Appointment.status.not_in([Status.EXPIRED, Status.RELEASED]),
        or_(Appointment.status != Status.HELD, Appointment.hold_expires_at > func.now()),
    )
