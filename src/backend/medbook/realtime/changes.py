"""Change events, who may see which, and what each channel shows of them. Pure, no I/O.

A change carries ids, times and statuses only. The patient's id is kept on the event so the
patient's own channel can find it, and is never put in any view.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from medbook.kernel.statuses import ACTIVE_STATUSES, Status
from medbook.realtime.cursor import Cursor

ACTIVE = frozenset(status.value for status in ACTIVE_STATUSES)


class Channel(StrEnum):
    AVAILABILITY = "availability"  # anyone: which times became taken or free, nothing more
    STAFF = "staff"  # staff of the clinic: every appointment, hold and block change
    MINE = "mine"  # a signed-in patient: changes to their own appointments


@dataclass(frozen=True, slots=True)
class Change:
    cursor: Cursor
    recorded_at: datetime
    appointment_id: uuid.UUID
    kind: str  # appointment or block
    status: str
    previous_status: str | None  # None: the row was created
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    service_id: uuid.UUID | None
    patient_id: uuid.UUID | None  # for matching only: never shown
    starts_at: datetime
    ends_at: datetime
    blocked_from: datetime  # the visit with its buffers: the time it keeps from others
    blocked_until: datetime
    hold_expires_at: datetime | None
    rescheduled_from_id: uuid.UUID | None
    timezone: str  # the clinic's, for presenting the times

    @property
    def takes_time(self) -> bool:
        return self.status in ACTIVE

    @property
    def took_time(self) -> bool:
        return self.previous_status in ACTIVE


@dataclass(frozen=True, slots=True)
class Subscription:
    """What one subscriber asks to follow, before anyone has checked they may."""

    channel: Channel
    clinic_ids: tuple[uuid.UUID, ...] = ()
    first_day: date | None = None  # a local day of each clinic
    last_day: date | None = None
    practitioner_ids: tuple[uuid.UUID, ...] | None = None  # None: every practitioner


@dataclass(frozen=True, slots=True)
class Filter:
    """What one subscriber asked for, already authorised."""

    channel: Channel
    # Per clinic, the instants its local dates span; None: any clinic (the patient's own).
    windows: Mapping[uuid.UUID, tuple[datetime, datetime]] | None = None
    practitioner_ids: frozenset[uuid.UUID] | None = None
    patient_id: uuid.UUID | None = None

    def matches(self, change: Change) -> bool:
        if self.patient_id is not None and change.patient_id != self.patient_id:
            return False
        if (
            self.practitioner_ids is not None
            and change.practitioner_id not in self.practitioner_ids
        ):
            return False
        if self.windows is not None:
            window = self.windows.get(change.clinic_id)
            if window is None:
                return False
            start, end = window
            if not (change.blocked_from < end and change.blocked_until > start):
                return False
        return True

    def view(self, change: Change) -> dict[str, Any] | None:
        """What this channel shows of the change, or None when it shows nothing."""
        if self.channel is Channel.AVAILABILITY:
            return slot_view(change)
        return appointment_view(change)


def _local(moment: datetime | None, zone: str) -> str | None:
    return None if moment is None else moment.astimezone(ZoneInfo(zone)).isoformat()


def appointment_view(change: Change) -> dict[str, Any]:
    zone = change.timezone
    return {
        "cursor": str(change.cursor),
        "type": f"{change.kind}.{change.status}",
        "at": _local(change.recorded_at, zone),
        "appointment_id": str(change.appointment_id),
        "kind": change.kind,
        "status": change.status,
        "previous_status": change.previous_status,
        "clinic_id": str(change.clinic_id),
        "practitioner_id": str(change.practitioner_id),
        "room_id": _text(change.room_id),
        "service_id": _text(change.service_id),
        "starts_at": _local(change.starts_at, zone),
        "ends_at": _local(change.ends_at, zone),
        "hold_expires_at": _local(change.hold_expires_at, zone)
        if change.status == Status.HELD
        else None,
        "rescheduled_from_id": _text(change.rescheduled_from_id),
    }


def slot_view(change: Change) -> dict[str, Any] | None:
    """Free or taken, and when: nothing says who, what for, or whether it is only held."""
    if change.takes_time == change.took_time:
        return None  # e.g. held -> confirmed: the time was taken and still is
    zone = change.timezone
    return {
        "cursor": str(change.cursor),
        "type": "slot.taken" if change.takes_time else "slot.freed",
        "at": _local(change.recorded_at, zone),
        "clinic_id": str(change.clinic_id),
        "practitioner_id": str(change.practitioner_id),
        "room_id": _text(change.room_id),
        "from": _local(change.blocked_from, zone),
        "until": _local(change.blocked_until, zone),
    }


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
