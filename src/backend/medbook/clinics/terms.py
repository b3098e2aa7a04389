"""A service's terms (the numbers of an appointment type) and the one rule they must keep.

The rule is checked here, once, by whatever saves a service: the administration before a change
and the demo before seeding. The database's check constraints on `services` guard the same
numbers (the money, the grid, the horizon); the API's schemas only bound each field on its own
(with these constants) so the document says what each field takes. Pure: no I/O.
"""

from __future__ import annotations

from typing import Protocol

from medbook.clinics.errors import InvalidServiceRulesError

MINUTES_PER_DAY = 24 * 60
ONLINE_PAYMENTS = ("none", "deposit", "full")


class ServiceTerms(Protocol):
    """What the rule reads: a services row, or a service's values before it is one."""

    @property
    def duration_minutes(self) -> int: ...
    @property
    def buffer_before_minutes(self) -> int: ...
    @property
    def buffer_after_minutes(self) -> int: ...
    @property
    def grid_minutes(self) -> int: ...
    @property
    def price_cents(self) -> int: ...
    @property
    def deposit_cents(self) -> int: ...
    @property
    def online_payment(self) -> str: ...
    @property
    def min_notice_minutes(self) -> int: ...
    @property
    def max_days_ahead(self) -> int: ...
    @property
    def cancellation_window_hours(self) -> int: ...


def check_service_terms(service: ServiceTerms) -> None:
    """Raise the 422 that names the first rule a service's numbers break (the database's
    checks, and what slot search needs: a grid that divides the day, a horizon past the
    notice). Called on the row as it would be saved (the administration) or the values about
    to be seeded (the demo); a refusal rolls the request back."""

    def refuse(detail: str, code: str) -> None:
        raise InvalidServiceRulesError(detail, code=code)

    if not 1 <= service.duration_minutes <= MINUTES_PER_DAY:
        refuse("duration_minutes must be 1 to 1440 minutes.", "invalid_duration")
    if not (
        0 <= service.buffer_before_minutes <= MINUTES_PER_DAY
        and 0 <= service.buffer_after_minutes <= MINUTES_PER_DAY
    ):
        refuse("Buffers must be 0 to 1440 minutes.", "invalid_buffer")
    if not 1 <= service.grid_minutes <= MINUTES_PER_DAY or MINUTES_PER_DAY % service.grid_minutes:
        refuse(
            f"grid_minutes must divide the day (1440 minutes) evenly, e.g. 5, 10, 15, 20 or 30; "
            f"{service.grid_minutes} does not.",
            "grid_must_divide_day",
        )
    if service.price_cents < 0 or service.deposit_cents < 0:
        refuse("Prices and deposits cannot be negative.", "invalid_price")
    if service.deposit_cents > service.price_cents:
        refuse(
            f"The deposit ({service.deposit_cents} cents) cannot exceed the price "
            f"({service.price_cents} cents).",
            "deposit_exceeds_price",
        )
    if service.online_payment not in ONLINE_PAYMENTS:
        refuse("online_payment must be none, deposit or full.", "invalid_online_payment")
    if service.online_payment == "deposit" and service.deposit_cents == 0:
        refuse(
            "online_payment 'deposit' needs a deposit above zero.", "online_payment_needs_deposit"
        )
    if service.online_payment == "full" and service.price_cents == 0:
        refuse("online_payment 'full' needs a price above zero.", "online_payment_needs_price")
    if service.min_notice_minutes < 0 or service.max_days_ahead < 1:
        refuse(
            "min_notice_minutes cannot be negative and max_days_ahead must be at least 1.",
            "invalid_booking_horizon",
        )
    if service.max_days_ahead * MINUTES_PER_DAY < service.min_notice_minutes:
        refuse(
            "max_days_ahead must reach beyond min_notice_minutes, or nothing is ever bookable.",
            "invalid_booking_horizon",
        )
    if service.cancellation_window_hours < 0:
        refuse("cancellation_window_hours cannot be negative.", "invalid_cancellation_window")
