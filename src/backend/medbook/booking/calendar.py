"""An appointment as an iCalendar (RFC 5545) event, for the patient's own calendar. Pure.

Only what a calendar needs and nothing about the patient: who the visit is for is known to the
calendar's owner, and a calendar is often shared or synced to other services.
"""

from __future__ import annotations

from datetime import UTC

from icalendar import Calendar, Event

from medbook.booking.models import Appointment
from medbook.clinics.models import Clinic, Service

PRODID = "-//Medical Inc.//medbook//EN"
UID_DOMAIN = "medbook.sg"


def appointment_ics(appointment: Appointment, clinic: Clinic, service: Service) -> bytes:
    """One event, times in UTC. The UID is the appointment's, so downloading it again updates
    the entry instead of adding a second; DTSTAMP is when the booking last changed."""
    event = Event.new(
        uid=f"{appointment.id}@{UID_DOMAIN}",
        stamp=appointment.updated_at.astimezone(UTC),
        start=appointment.starts_at.astimezone(UTC),
        end=appointment.ends_at.astimezone(UTC),
        summary=f"{service.name} at {clinic.name}",
        location=f"{clinic.address}, Singapore {clinic.postal_code}",
    )
    # Not Calendar.new(): it gives the calendar a random UID, and the same booking should
    # give the same file.
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add_component(event)
    ics: bytes = calendar.to_ical()
    return ics
