"""The plain values identity's routes, schemas, rules and SQL pass between them. No I/O, no
framework: schemas may import them without importing the rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from medbook.kernel.permissions import Role


@dataclass(frozen=True, slots=True)
class GrantRow:
    id: uuid.UUID
    staff_id: uuid.UUID
    role: Role
    clinic_id: uuid.UUID | None
    granted_by: uuid.UUID | None
    granted_at: datetime


@dataclass(frozen=True, slots=True)
class StaffView:
    """An account as administrators see it: never its password hash or second-factor secret."""

    id: uuid.UUID
    email: str
    full_name: str
    active: bool
    enrolled: bool
    throttled_until: datetime | None  # while sign-in from some address is being delayed
    created_at: datetime
    grants: tuple[GrantRow, ...]
