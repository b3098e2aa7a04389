"""Consent to the privacy notice: asked once per notice version, before a patient's first
online booking under it. Flushes, never commits."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from medbook.privacy import repository
from medbook.privacy.errors import PrivacyConsentRequiredError
from medbook.privacy.notice import CURRENT_NOTICE_VERSION


class Channel(StrEnum):
    ONLINE = "online"  # the patient agreed at checkout
    DESK = "desk"  # the patient agreed at the clinic; staff recorded it


async def consent_at_checkout(
    session: AsyncSession, patient_id: uuid.UUID, *, given: bool, by_staff: bool
) -> None:
    """A patient checking out must have agreed to the current notice, before or now (`given`:
    recorded). Staff booking for a patient need no online consent, but record one the patient
    gave them at the desk."""
    if given:
        channel = Channel.DESK if by_staff else Channel.ONLINE
        await repository.add_consent(session, patient_id, CURRENT_NOTICE_VERSION, channel)
        return
    if by_staff or await repository.has_consent(session, patient_id, CURRENT_NOTICE_VERSION):
        return
    raise PrivacyConsentRequiredError(
        f"Please read our privacy notice (version {CURRENT_NOTICE_VERSION}, at "
        "GET /api/v1/privacy-notice) and agree to it before booking: send privacy_consent: true."
    )
