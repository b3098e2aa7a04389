"""Clinics and what they offer: practitioners, rooms, services, weekly availability, closures."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medbook.db import Base, uuid_pk


class Clinic(Base):
    # Relationships are loaded only where a query asks for them (lazy="raise"): the booking
    # path must not pay for rows it does not read.
    __tablename__ = "clinics"

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text)
    postal_code: Mapped[str] = mapped_column(String(6))
    phone: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(64), server_default="Asia/Singapore")
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        order_by="(OpeningHours.weekday, OpeningHours.opens)", lazy="raise"
    )
    rooms: Mapped[list[Room]] = relationship(order_by="Room.name", lazy="raise")


class OpeningHours(Base):
    __tablename__ = "clinic_opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("closes > opens", name="closes_after_opens"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clinic_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clinics.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("clinic_id", "name", name="uq_rooms_clinic_name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    clinic_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clinics.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))


practitioner_services = Table(
    "practitioner_services",
    Base.metadata,
    Column("practitioner_id", ForeignKey("practitioners.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class Practitioner(Base):
    __tablename__ = "practitioners"

    id: Mapped[uuid.UUID] = uuid_pk()
    # Singapore Medical Council style registration number, e.g. M12345A.
    registration_number: Mapped[str] = mapped_column(String(16), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(20), server_default="Dr")
    profession: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    services: Mapped[list[Service]] = relationship(secondary=practitioner_services, lazy="raise")


class Service(Base):
    """An appointment type with its booking rules."""

    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="positive_duration"),
        CheckConstraint("buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="buffers"),
        CheckConstraint("grid_minutes > 0 AND 1440 % grid_minutes = 0", name="grid_divides_day"),
        CheckConstraint(
            "price_cents >= 0 AND deposit_cents BETWEEN 0 AND price_cents", name="money"
        ),
        CheckConstraint("min_notice_minutes >= 0 AND max_days_ahead >= 1", name="booking_horizon"),
        CheckConstraint("cancellation_window_hours >= 0", name="cancellation_window"),
        CheckConstraint(
            "online_payment = 'none' OR (online_payment = 'deposit' AND deposit_cents > 0) "
            "OR (online_payment = 'full' AND price_cents > 0)",
            name="online_payment",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    duration_minutes: Mapped[int] = mapped_column(Integer)
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, server_default="0")
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, server_default="0")
    grid_minutes: Mapped[int] = mapped_column(Integer, server_default="15")
    price_cents: Mapped[int] = mapped_column(Integer)
    deposit_cents: Mapped[int] = mapped_column(Integer, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), server_default="SGD")
    min_notice_minutes: Mapped[int] = mapped_column(Integer, server_default="60")
    max_days_ahead: Mapped[int] = mapped_column(Integer, server_default="60")
    cancellation_window_hours: Mapped[int] = mapped_column(Integer, server_default="24")
    # What a patient pays online before the booking is confirmed: nothing (pay at the clinic),
    # the deposit, or the full price. A late cancellation or a no-show keeps the deposit.
    online_payment: Mapped[str] = mapped_column(String(8), server_default="none")
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class WeeklyAvailability(Base):
    """One line of a practitioner's weekly template at one clinic, in the clinic's local time."""

    __tablename__ = "weekly_availability"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="valid_period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    practitioner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("practitioners.id", ondelete="CASCADE"), index=True
    )
    clinic_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clinics.id", ondelete="CASCADE"), index=True
    )
    room_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    weekday: Mapped[int] = mapped_column(SmallInteger)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class TimeOff(Base):
    """Leave, training, sick days: the practitioner is away everywhere."""

    __tablename__ = "time_off"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    practitioner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("practitioners.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(200), server_default="")


class ClinicClosure(Base):
    """A local date on which a clinic (or, with no clinic, every clinic) takes no bookings."""

    __tablename__ = "clinic_closures"
    __table_args__ = (
        UniqueConstraint(
            "clinic_id",
            "day",
            name="uq_clinic_closures_clinic_day",
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint("kind IN ('public_holiday', 'closure')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clinic_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clinics.id", ondelete="CASCADE")
    )
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
