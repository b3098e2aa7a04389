"""What subscribers send and what the feed answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from medbook.realtime.changes import Channel, Subscription
from medbook.schemas import Day, StrictModel


class SubscriptionIn(StrictModel):
    model_config = ConfigDict(populate_by_name=True)

    channel: Channel = Field(
        description="availability: free or taken only, for anyone. staff: every change at the "
        "clinics, for their staff. mine: a signed-in patient's own appointments."
    )
    clinic_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=10, description="Required for availability and staff."
    )
    first_day: Day | None = Field(
        default=None, alias="from", description="First local day (availability and staff)."
    )
    last_day: Day | None = Field(default=None, alias="to", description="Last local day, included.")
    practitioner_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=50, description="Only these practitioners (default: all)."
    )
    since: str | None = Field(
        default=None,
        max_length=40,
        description="Replay everything after this cursor first (the last one you saw). "
        "Without it, changes start from now.",
    )

    def to_subscription(self) -> Subscription:
        return Subscription(
            channel=self.channel,
            clinic_ids=tuple(self.clinic_ids),
            first_day=self.first_day,
            last_day=self.last_day,
            practitioner_ids=(
                tuple(self.practitioner_ids) if self.practitioner_ids is not None else None
            ),
        )


class SubscribeIn(SubscriptionIn):
    """The WebSocket message that starts (or replaces) the socket's subscription."""

    type: Literal["subscribe"]


class AppointmentChangeOut(StrictModel):
    cursor: str
    type: str = Field(description="<kind>.<status>, e.g. appointment.held, block.blocked")
    at: datetime
    appointment_id: uuid.UUID
    kind: Literal["appointment", "block"]
    status: str
    previous_status: str | None = Field(description="None when the row was created")
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    service_id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime
    hold_expires_at: datetime | None
    rescheduled_from_id: uuid.UUID | None


class SlotChangeOut(StrictModel):
    model_config = ConfigDict(populate_by_name=True)

    cursor: str
    type: Literal["slot.taken", "slot.freed"]
    at: datetime
    clinic_id: uuid.UUID
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    taken_from: datetime = Field(alias="from")
    taken_until: datetime = Field(alias="until")


class ChangesOut(StrictModel):
    changes: list[AppointmentChangeOut | SlotChangeOut]
    next: str = Field(description="Ask again with since=<this> for what follows.")
    more: bool = Field(description="True when more changes are ready now: ask again at once.")
