"""Roles, what each may do, and at which clinics. Pure: no I/O.

A grant is a role at one clinic, or at every clinic. A permission is checked against the clinic
the thing belongs to, so a receptionist at one clinic cannot see another clinic's day.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from medbook.kernel.errors import ForbiddenError


class Role(StrEnum):
    RECEPTIONIST = "receptionist"
    PRACTITIONER = "practitioner"
    CLINIC_MANAGER = "clinic_manager"
    ADMINISTRATOR = "administrator"
    DATA_PROTECTION_OFFICER = "data_protection_officer"


class Permission(StrEnum):
    VIEW_SCHEDULE = "schedule.view"  # the day, appointments, holds and blocks
    BOOK = "appointments.book"  # book, reschedule and cancel for a patient, walk-ins
    ATTEND = "appointments.attend"  # check-in, no-show, complete
    BLOCK_TIME = "schedule.block"
    VIEW_PATIENTS = "patients.view"
    MANAGE_CLINIC = "clinic.manage"  # practitioners, services, availability, closures
    MANAGE_STAFF = "staff.manage"  # accounts, roles and factor resets
    VIEW_AUDIT = "audit.view"
    REFUND = "payments.refund"  # a refund by choice, beyond what the cancellation policy gives


_FRONT_DESK = frozenset(
    {
        Permission.VIEW_SCHEDULE,
        Permission.BOOK,
        Permission.ATTEND,
        Permission.BLOCK_TIME,
        Permission.VIEW_PATIENTS,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.RECEPTIONIST: _FRONT_DESK,
    Role.PRACTITIONER: frozenset(
        {
            Permission.VIEW_SCHEDULE,
            Permission.ATTEND,
            Permission.BLOCK_TIME,
            Permission.VIEW_PATIENTS,
        }
    ),
    # Refunds by choice move money: the manager decides them, the desk asks the manager.
    Role.CLINIC_MANAGER: _FRONT_DESK
    | {Permission.MANAGE_CLINIC, Permission.MANAGE_STAFF, Permission.REFUND},
    # The administrator runs the system (accounts, clinics) but does not look at patients.
    Role.ADMINISTRATOR: frozenset(
        {Permission.MANAGE_STAFF, Permission.MANAGE_CLINIC, Permission.VIEW_SCHEDULE}
    ),
    # The DPO answers access requests and audits access; they do not run the front desk.
    Role.DATA_PROTECTION_OFFICER: frozenset({Permission.VIEW_AUDIT, Permission.VIEW_PATIENTS}),
}

# Roles a clinic manager may hand out: never one that outranks them.
MANAGER_GRANTABLE = frozenset({Role.RECEPTIONIST, Role.PRACTITIONER})


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    clinic_id: uuid.UUID | None  # None: every clinic


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    """A signed-in staff member and their grants, as one request sees them."""

    staff_id: uuid.UUID
    grants: tuple[Grant, ...]

    def may(self, permission: Permission, clinic_id: uuid.UUID | None) -> bool:
        """May they do this at that clinic? (clinic_id None: at every clinic.)"""
        return any(
            permission in ROLE_PERMISSIONS[grant.role]
            and (grant.clinic_id is None or grant.clinic_id == clinic_id)
            for grant in self.grants
        )

    def require(self, permission: Permission, clinic_id: uuid.UUID | None) -> None:
        if not self.may(permission, clinic_id):
            where = "at that clinic" if clinic_id is not None else "across all clinics"
            raise ForbiddenError(
                f"Your role does not allow {permission.value} {where}.", code="not_permitted"
            )

    def clinics_with(self, permission: Permission) -> frozenset[uuid.UUID] | None:
        """The clinics where they hold the permission; None means every clinic."""
        clinics: set[uuid.UUID] = set()
        for grant in self.grants:
            if permission in ROLE_PERMISSIONS[grant.role]:
                if grant.clinic_id is None:
                    return None
                clinics.add(grant.clinic_id)
        return frozenset(clinics)

    def has_role(self, role: Role) -> bool:
        return any(grant.role is role for grant in self.grants)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: a signed-in patient, or a staff member with their grants."""

    patient_id: uuid.UUID | None = None
    staff: StaffPrincipal | None = None

    @property
    def is_staff(self) -> bool:
        return self.staff is not None

    @property
    def key(self) -> str:
        """Stable per person: live holds and rate limits are counted against it."""
        if self.staff is not None:
            return f"staff:{self.staff.staff_id}"
        return f"patient:{self.patient_id}"
