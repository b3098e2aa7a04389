"""Time as the clinics count it (local days in a clinic's own timezone), and periods as the
worker's periodic jobs count them: a cron line counts from the top of the minute, hour or day,
so a period must divide one of them evenly; every worker then agrees on each period's start,
which is what makes a periodic job run once per period across workers."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_day_bounds(tz: ZoneInfo, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first_day, time(0), tzinfo=tz)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    return start, end


MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def cron_every(seconds: int) -> str:
    """The cron line (seconds as a sixth field when needed) for a job every `seconds`."""
    if seconds < 1:
        raise ValueError("a period is at least one second")
    if seconds < MINUTE and MINUTE % seconds == 0:
        return f"* * * * * */{seconds}"
    if seconds % MINUTE == 0 and seconds < HOUR and HOUR % seconds == 0:
        return f"*/{seconds // MINUTE} * * * *"
    if seconds % HOUR == 0 and seconds < DAY and DAY % seconds == 0:
        return f"0 */{seconds // HOUR} * * *"
    if seconds == DAY:
        return "0 0 * * *"
    raise ValueError(
        f"a period of {seconds} s does not divide a minute, an hour or a day evenly "
        "(e.g. 10, 30, 60, 300, 900, 3600, 21600, 86400)"
    )
