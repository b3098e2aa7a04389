"""Pure slot search: intervals, working windows and bookable slots.

Standard library only, no I/O and no clock: callers pass `now` in. Every datetime in or out
is timezone-aware and in UTC; the clinic's timezone is used only to read weekly templates
and to place the slot grid on local wall-clock time.
"""

from medbook.scheduling.availability import WeeklyRule, WorkingWindow, working_windows
from medbook.scheduling.intervals import Interval, merge, subtract
from medbook.scheduling.slots import Slot, SlotRules, blocked_interval, find_slots, is_bookable

__all__ = [
    "Interval",
    "Slot",
    "SlotRules",
    "WeeklyRule",
    "WorkingWindow",
    "blocked_interval",
    "find_slots",
    "is_bookable",
    "merge",
    "subtract",
    "working_windows",
]
