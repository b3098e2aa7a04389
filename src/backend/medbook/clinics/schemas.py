"""What the clinics API answers."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medbook.schemas import WallClockTime


class FromRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OpeningHoursOut(FromRow):
    weekday: int
    opens: WallClockTime
    closes: WallClockTime


class RoomOut(FromRow):
    id: uuid.UUID
    name: str


class ClinicOut(FromRow):
    id: uuid.UUID
    code: str
    name: str
    address: str
    postal_code: str
    phone: str
    timezone: str
    opening_hours: list[OpeningHoursOut]
    rooms: list[RoomOut]


class ServiceOut(FromRow):
    id: uuid.UUID
    code: str
    name: str
    description: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    grid_minutes: int
    price_cents: int
    deposit_cents: int
    currency: str
    min_notice_minutes: int
    max_days_ahead: int
    cancellation_window_hours: int
    online_payment: Literal["none", "deposit", "full"] = Field(
        description="Paid online before the booking is confirmed: nothing (at the clinic), "
        "the deposit, or the full price. Late cancellations and no-shows keep the deposit."
    )


class PractitionerOut(FromRow):
    id: uuid.UUID
    registration_number: str
    title: str
    full_name: str
    profession: str
    service_ids: list[uuid.UUID]
