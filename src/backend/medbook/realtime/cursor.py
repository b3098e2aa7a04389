"""A position in the change feed: (writing transaction's id, event id). Pure, no I/O.

Events are read only once every older transaction has finished, so ordering by (xid, id) is an
order no later reader can see an event slip in behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

_FORMAT = re.compile(r"^(\d{1,19})-(\d{1,19})$")
_MAX = 2**63 - 1


class CursorError(ValueError):
    pass


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    xid: int
    id: int

    ORIGIN: ClassVar[Cursor]

    @classmethod
    def parse(cls, text: str) -> Cursor:
        match = _FORMAT.match(text)
        if match is None:
            raise CursorError("a cursor looks like 1234-56: use one the feed gave you")
        xid, event_id = int(match[1]), int(match[2])
        if xid > _MAX or event_id > _MAX:
            raise CursorError("this cursor is out of range: use one the feed gave you")
        return cls(xid, event_id)

    def __str__(self) -> str:
        return f"{self.xid}-{self.id}"


Cursor.ORIGIN = Cursor(0, 0)
