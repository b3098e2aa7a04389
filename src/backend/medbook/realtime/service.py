"""Who may follow which changes, and the feed read as pages (the polling fallback)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from medbook.clinics import service as clinics
from medbook.identity.sessions import SessionView
from medbook.kernel.errors import (
    ClinicNotFoundError,
    ForbiddenError,
    GoneError,
    UnauthorizedError,
    UnprocessableError,
)
from medbook.kernel.permissions import Permission
from medbook.kernel.time import local_day_bounds
from medbook.realtime import feed
from medbook.realtime.changes import Channel, Filter, Subscription
from medbook.realtime.cursor import Cursor, CursorError


async def authorise(
    session: AsyncSession, subscription: Subscription, view: SessionView | None, max_days: int
) -> Filter:
    """The subscription as a Filter, once the caller is known to be allowed it."""
    if subscription.channel is Channel.MINE:
        if view is None:
            raise UnauthorizedError("Please sign in first.", code="not_signed_in")
        if view.patient_id is None:
            raise ForbiddenError(
                "This is for patients signed in with Singpass.", code="patients_only"
            )
        return Filter(Channel.MINE, patient_id=view.patient_id)

    first_day, last_day = subscription.first_day, subscription.last_day
    if not subscription.clinic_ids or first_day is None or last_day is None:
        raise UnprocessableError(
            "Say which clinics (clinic_ids) and which days (from, to) to follow.",
            code="subscription_incomplete",
        )
    if last_day < first_day:
        raise UnprocessableError("`to` must not be before `from`.", code="invalid_period")
    if (last_day - first_day).days + 1 > max_days:
        raise UnprocessableError(
            f"Follow at most {max_days} days at a time.", code="period_too_long"
        )
    if subscription.channel is Channel.STAFF:
        if view is None:
            raise UnauthorizedError("Please sign in first.", code="not_signed_in")
        staff = view.staff
        if staff is None:
            if view.staff_id is not None:
                raise UnauthorizedError(
                    "Finish signing in with your second factor first.",
                    code="second_factor_required",
                )
            raise ForbiddenError("This is for clinic staff.", code="staff_only")
        for clinic_id in subscription.clinic_ids:
            staff.require(Permission.VIEW_SCHEDULE, clinic_id)

    zones = await clinics.timezones(session, subscription.clinic_ids)
    missing = [str(clinic_id) for clinic_id in subscription.clinic_ids if clinic_id not in zones]
    if missing:
        raise ClinicNotFoundError(f"There is no clinic {', '.join(missing)}.")
    return Filter(
        subscription.channel,
        windows={
            clinic_id: local_day_bounds(ZoneInfo(zone), first_day, last_day)
            for clinic_id, zone in zones.items()
        },
        practitioner_ids=frozenset(subscription.practitioner_ids)
        if subscription.practitioner_ids
        else None,
    )


def parse_since(text: str | None) -> Cursor | None:
    if text is None:
        return None
    try:
        return Cursor.parse(text)
    except CursorError as error:
        raise UnprocessableError(str(error), code="invalid_cursor") from None


def scope_of(filter_: Filter) -> feed.Scope:
    """The SQL side of a filter: a coarse cut that Filter.matches then makes exact."""
    if filter_.windows is None:
        return feed.Scope(
            patient_id=filter_.patient_id,
            practitioner_ids=sorted(filter_.practitioner_ids) if filter_.practitioner_ids else None,
        )
    starts, ends = zip(*filter_.windows.values(), strict=True)
    return feed.Scope(
        clinic_ids=sorted(filter_.windows),
        practitioner_ids=sorted(filter_.practitioner_ids) if filter_.practitioner_ids else None,
        patient_id=filter_.patient_id,
        span=(min(starts), max(ends)),
    )


def check_not_pruned(since: Cursor, page: feed.Page) -> None:
    if since < page.horizon:
        raise GoneError(
            "This cursor is older than the change feed keeps: load the page afresh, then "
            "follow changes from the cursor that comes with it.",
            code="cursor_expired",
        )


async def changes_page(
    session: AsyncSession, filter_: Filter, since: Cursor | None, limit: int
) -> dict[str, Any]:
    """One page of changes after `since`, for clients that poll instead of holding a socket.

    Without `since`, no changes and the cursor to start from.
    """
    connection = await feed.driver_connection(session)
    if since is None:
        head = (await feed.read(connection, Cursor.ORIGIN, limit=0)).head
        return {"changes": [], "next": str(head), "more": False}
    page = await feed.read(connection, since, limit=limit, scope=scope_of(filter_))
    check_not_pruned(since, page)
    full = len(page.changes) == limit
    shown = [
        view
        for change in page.changes
        if filter_.matches(change) and (view := filter_.view(change)) is not None
    ]
    # A short page has read everything readable now: the reader may jump to the head, past
    # changes its filter left out.
    next_cursor = page.changes[-1].cursor if full else max(page.head, since)
    return {"changes": shown, "next": str(next_cursor), "more": full}
