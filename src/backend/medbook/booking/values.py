"""The plain values booking's routes, schemas and rules pass between them: schemas may import
them without importing the rules."""

from __future__ import annotations

from dataclasses import dataclass

from medbook.patients.values import ContactDetails


@dataclass(frozen=True, slots=True)
class CheckoutDetails:
    """What the patient gives at checkout, besides any payment."""

    contact: ContactDetails | None = None
    visit_reason: str = ""  # empty keeps any reason given before
    privacy_consent: bool = False  # agrees to the current privacy notice now
