"""Appointments, holds and blocks: one table, so one constraint guards them all."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSTZRANGE, ExcludeConstraint, Range
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medbook.clinics.models import Clinic
from medbook.db import Base, uuid_pk
from medbook.kernel.statuses import Status, active_statuses_sql

ACTIVE = f"status IN ({active_statuses_sql()})"
STATUS_VALUES = ", ".join(f"'{status.value}'" for status in Status)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        # Double booking is impossible by construction: no two active rows of one practitioner,
        # nor of one room, may overlap, whatever the code above does.
        ExcludeConstraint(
            ("practitioner_id", "="),
            ("blocked", "&&"),
            name="no_overlap_per_practitioner",
            using="gist",
            where=text(ACTIVE),
        ),
        ExcludeConstraint(
            ("room_id", "="),
            ("blocked", "&&"),
            name="no_overlap_per_room",
            using="gist",
            where=text(f"room_id IS NOT NULL AND {ACTIVE}"),
        ),
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="status"),
        CheckConstraint("kind IN ('appointment', 'block')", name="kind"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "lower(blocked) <= starts_at AND upper(blocked) >= ends_at", name="blocked_covers_visit"
        ),
        CheckConstraint("status <> 'held' OR hold_expires_at IS NOT NULL", name="hold_has_expiry"),
        CheckConstraint(
            "(kind = 'block') = (service_id IS NULL)", name="appointments_have_a_service"
        ),
        Index("ix_appointments_clinic_starts_at", "clinic_id", "starts_at"),
        Index("ix_appointments_practitioner_starts_at", "practitioner_id", "starts_at"),
        Index(
            "ix_appointments_live_holds_by_holder",
            "holder",
            postgresql_where=text("status = 'held'"),
        ),
        Index(
            "ix_appointments_hold_expiry",
            "hold_expires_at",
            postgresql_where=text("status = 'held'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(12), server_default="appointment")
    status: Mapped[str] = mapped_column(String(12))
    clinic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clinics.id"))
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"))
    room_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rooms.id"))
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("services.id"))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The visit plus the service's buffers: what the exclusion constraints compare.
    blocked: Mapped[Range[datetime]] = mapped_column(TSTZRANGE)
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who took the hold (patient:<id> or staff:<id>), to cap live holds per person.
    holder: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(12), server_default="online")
    note: Mapped[str] = mapped_column(Text, server_default="")
    # What the patient says the visit is for: health information, shown only to staff who may
    # see patients, and never put on the change feed.
    visit_reason: Mapped[str] = mapped_column(String(500), server_default="")
    late_cancellation: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    rescheduled_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    # Loaded only where a query joins it (lazy="raise"): presenting a time needs the clinic's zone.
    clinic: Mapped[Clinic] = relationship(lazy="raise", viewonly=True)
