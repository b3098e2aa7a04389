"""Staff administration: who may create accounts, grant roles and reset factors, and where.

Every grant of power is tested with its denials: a receptionist, a manager of another clinic,
a manager reaching above their station, someone acting on their own account, and the removal of
the last administrator.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import typer
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from medbook.audit.service import AuditContext
from medbook.identity import staff
from medbook.identity.staff_cli import create_admin
from medbook.kernel.permissions import Grant, Role, StaffPrincipal
from tests.auth import SignedIn, sign_in_staff
from tests.factories import make_clinic
from tests.identity.staff_helpers import (
    ADMIN,
    PASSWORD,
    SECOND_FACTOR,
    actions,
    audit_rows,
    csrf,
    enrol,
    everything_recorded,
    make_member,
    session_token,
    sign_in,
    use_fast_hashing,
    with_cookie,
)

DAY = "2026-12-01"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_hashing(monkeypatch)


@dataclass(frozen=True)
class Org:
    """Two clinics, an administrator of all of them, and the manager of the first."""

    tampines: uuid.UUID
    jurong: uuid.UUID
    admin: SignedIn
    manager: SignedIn


@pytest.fixture
async def org(session: AsyncSession) -> Org:
    tampines = await make_clinic(session, "tampines")
    jurong = await make_clinic(session, "jurong")
    admin = await sign_in_staff(session, (Role.ADMINISTRATOR, None))
    manager = await sign_in_staff(session, (Role.CLINIC_MANAGER, tampines.id))
    return Org(tampines.id, jurong.id, admin, manager)


def new_account(
    clinic_id: uuid.UUID | None, role: Role = Role.RECEPTIONIST, **values: object
) -> dict[str, object]:
    return {
        "email": values.get("email", f"new-{uuid.uuid4().hex[:8]}@medical.example"),
        "full_name": values.get("full_name", "Nur Aisyah"),
        "password": values.get("password", PASSWORD),
        "roles": [{"role": role.value, "clinic_id": str(clinic_id) if clinic_id else None}],
    }


def day_of(clinic_id: uuid.UUID) -> str:
    return f"/api/v1/staff/clinics/{clinic_id}/day?day={DAY}"


# --- creating accounts ---------------------------------------------------------------------------


async def test_an_administrator_creates_an_account_that_enrols_at_first_sign_in(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given an administrator,
    body = new_account(org.tampines, Role.PRACTITIONER, email="  Nur.Aisyah@Medical.Example ")
    # when they create a practitioner at Tampines,
    created = await client.post(ADMIN, json=body, headers=org.admin.headers)
    # then the account exists with that role, granted by them, its email tidied,
    assert created.status_code == 201
    account = created.json()
    assert account["email"] == "nur.aisyah@medical.example"
    assert account["enrolled"] is False
    assert account["active"] is True
    assert [(r["role"], r["clinic_id"], r["granted_by"]) for r in account["roles"]] == [
        ("practitioner", str(org.tampines), str(org.admin.id))
    ]
    # and no password or hash in the answer;
    assert "password" not in created.text
    assert "argon2" not in created.text
    # the new member's first sign-in leads to enrolment;
    signed = await sign_in(client, "nur.aisyah@medical.example")
    assert signed.json()["next"] == "enrol"
    # and the creation is on record, by the administrator.
    rows = await audit_rows(session)
    assert actions(rows)[:2] == ["staff.created", "staff.role.granted"]
    assert {row.actor_id for row in rows[:2]} == {org.admin.id}
    assert rows[1].clinic_id == org.tampines
    assert rows[1].detail == {"role": "practitioner", "scope": "clinic"}
    assert PASSWORD not in everything_recorded(rows)


async def test_an_email_address_has_one_account_whatever_its_case(
    client: httpx.AsyncClient, org: Org
) -> None:
    first = await client.post(
        ADMIN,
        json=new_account(org.tampines, email="mei@medical.example"),
        headers=org.admin.headers,
    )
    assert first.status_code == 201
    again = await client.post(
        ADMIN, json=new_account(org.jurong, email="MEI@medical.example"), headers=org.admin.headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "staff_email_taken"


async def test_a_new_account_needs_a_password_within_the_policy(
    client: httpx.AsyncClient, org: Org
) -> None:
    weak = new_account(org.tampines, full_name="Siti Rahmah", password="siti rahmah 2026!!")
    answer = await client.post(ADMIN, json=weak, headers=org.admin.headers)
    assert answer.status_code == 422
    assert answer.json()["code"] == "weak_password"
    assert "must not contain your name" in answer.json()["detail"]


async def test_an_unknown_field_is_refused_not_ignored(client: httpx.AsyncClient, org: Org) -> None:
    body = new_account(org.tampines) | {"totp_confirmed": True}
    answer = await client.post(ADMIN, json=body, headers=org.admin.headers)
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_failed"


async def test_a_role_at_a_clinic_that_does_not_exist_is_refused(
    client: httpx.AsyncClient, org: Org
) -> None:
    answer = await client.post(ADMIN, json=new_account(uuid.uuid4()), headers=org.admin.headers)
    assert answer.status_code == 404
    assert answer.json()["code"] == "clinic_not_found"


# --- who may administer whom ---------------------------------------------------------------------


async def test_a_receptionist_administers_nobody(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given a receptionist at every clinic, and a colleague,
    receptionist = await sign_in_staff(session, (Role.RECEPTIONIST, None))
    colleague = await make_member(session, (Role.RECEPTIONIST, org.tampines))
    headers = receptionist.headers
    # when they try to create, list, grant, reset or deactivate,
    answers = [
        await client.post(ADMIN, json=new_account(org.tampines), headers=headers),
        await client.get(ADMIN, headers=headers),
        await client.get(f"{ADMIN}/{colleague.id}", headers=headers),
        await client.post(
            f"{ADMIN}/{colleague.id}/roles",
            json={"role": "practitioner", "clinic_id": str(org.tampines)},
            headers=headers,
        ),
        await client.post(f"{ADMIN}/{colleague.id}/reset-factors", headers=headers),
        await client.post(f"{ADMIN}/{colleague.id}/deactivate", headers=headers),
        await client.post(f"{ADMIN}/{colleague.id}/unlock", headers=headers),
    ]
    # then every one is refused.
    assert [a.status_code for a in answers] == [403] * len(answers)
    assert {a.json()["code"] for a in answers} == {"not_permitted"}


async def test_a_clinic_manager_creates_front_desk_staff_at_their_own_clinic(
    client: httpx.AsyncClient, org: Org
) -> None:
    headers = org.manager.headers
    # A receptionist or a practitioner at their clinic: yes.
    for role in (Role.RECEPTIONIST, Role.PRACTITIONER):
        created = await client.post(ADMIN, json=new_account(org.tampines, role), headers=headers)
        assert created.status_code == 201
    # A role that outranks the front desk, there: no.
    for role in (Role.CLINIC_MANAGER, Role.ADMINISTRATOR, Role.DATA_PROTECTION_OFFICER):
        refused = await client.post(ADMIN, json=new_account(org.tampines, role), headers=headers)
        assert refused.status_code == 403, role
        assert refused.json()["code"] == "not_permitted"
    # A receptionist at another clinic, or at every clinic: no.
    for clinic_id in (org.jurong, None):
        refused = await client.post(ADMIN, json=new_account(clinic_id), headers=headers)
        assert refused.status_code == 403, clinic_id
        assert refused.json()["code"] == "not_permitted"


async def test_a_clinic_manager_grants_only_front_desk_roles_at_their_clinic(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given a receptionist at the manager's clinic,
    member = await make_member(session, (Role.RECEPTIONIST, org.tampines))
    roles = f"{ADMIN}/{member.id}/roles"
    headers = org.manager.headers
    # when the manager makes them a practitioner there, then that works;
    granted = await client.post(
        roles, json={"role": "practitioner", "clinic_id": str(org.tampines)}, headers=headers
    )
    assert granted.status_code == 201
    # but not an administrator there, nor a receptionist at another clinic.
    above = await client.post(
        roles, json={"role": "administrator", "clinic_id": str(org.tampines)}, headers=headers
    )
    elsewhere = await client.post(
        roles, json={"role": "receptionist", "clinic_id": str(org.jurong)}, headers=headers
    )
    assert above.status_code == elsewhere.status_code == 403
    assert above.json()["code"] == elsewhere.json()["code"] == "not_permitted"


async def test_a_clinic_manager_acts_only_on_staff_they_could_have_appointed(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given staff at the manager's clinic, at another clinic, at both, and an administrator,
    own = await make_member(session, (Role.RECEPTIONIST, org.tampines))
    other = await make_member(session, (Role.RECEPTIONIST, org.jurong))
    both = await make_member(
        session, (Role.PRACTITIONER, org.tampines), (Role.PRACTITIONER, org.jurong)
    )
    administrator = await make_member(
        session, (Role.ADMINISTRATOR, None), (Role.RECEPTIONIST, org.tampines)
    )
    headers = org.manager.headers
    # when the manager resets, deactivates or unlocks each of them,
    for action in ("reset-factors", "deactivate", "unlock"):
        # then someone at another clinic only does not exist for them,
        unseen = await client.post(f"{ADMIN}/{other.id}/{action}", headers=headers)
        assert unseen.status_code == 404, action
        assert unseen.json()["code"] == "staff_not_found"
        for member in (both, administrator):
            refused = await client.post(f"{ADMIN}/{member.id}/{action}", headers=headers)
            # and of those at their clinic, only the ones they could have appointed are theirs.
            assert refused.status_code == 403, (action, member)
            assert refused.json()["code"] == "not_permitted"
    allowed = await client.post(f"{ADMIN}/{own.id}/reset-factors", headers=headers)
    assert allowed.status_code == 200
    # Nor may they take away a grant at another clinic.
    grants = (await client.get(f"{ADMIN}/{both.id}", headers=org.admin.headers)).json()["roles"]
    at_jurong = next(g["id"] for g in grants if g["clinic_id"] == str(org.jurong))
    taken = await client.delete(f"{ADMIN}/{both.id}/roles/{at_jurong}", headers=headers)
    assert taken.status_code == 403


async def test_a_clinic_manager_lists_the_staff_of_their_clinics(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    own = await make_member(session, (Role.RECEPTIONIST, org.tampines), email="own@medical.example")
    other = await make_member(
        session, (Role.RECEPTIONIST, org.jurong), email="other@medical.example"
    )
    seen_by_manager = await client.get(ADMIN, headers=org.manager.headers)
    seen_by_admin = await client.get(ADMIN, headers=org.admin.headers)
    assert seen_by_manager.status_code == seen_by_admin.status_code == 200
    assert str(own.id) in {a["id"] for a in seen_by_manager.json()}
    assert str(other.id) not in {a["id"] for a in seen_by_manager.json()}
    assert {str(own.id), str(other.id)} <= {a["id"] for a in seen_by_admin.json()}
    # and one at another clinic cannot be looked up by id either: not there, for them.
    looked_up = await client.get(f"{ADMIN}/{other.id}", headers=org.manager.headers)
    assert looked_up.status_code == 404
    assert looked_up.json()["code"] == "staff_not_found"
    for account in seen_by_admin.json():
        assert set(account) == {
            "id",
            "email",
            "full_name",
            "active",
            "enrolled",
            "throttled_until",
            "locked_until",
            "created_at",
            "roles",
        }


async def test_a_clinic_manager_grants_roles_only_to_accounts_they_manage(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given the administrator's account, a manager and a practitioner at both clinics, a
    # receptionist at Jurong only, and the manager's own receptionist,
    administrator = await make_member(session, (Role.ADMINISTRATOR, None))
    fellow_manager = await make_member(session, (Role.CLINIC_MANAGER, org.tampines))
    both = await make_member(
        session, (Role.PRACTITIONER, org.tampines), (Role.PRACTITIONER, org.jurong)
    )
    at_jurong = await make_member(session, (Role.RECEPTIONIST, org.jurong))
    own = await make_member(session, (Role.RECEPTIONIST, org.tampines))
    receptionist_here = {"role": "receptionist", "clinic_id": str(org.tampines)}
    headers = org.manager.headers

    # when the manager grants each of them a front-desk role at their own clinic,
    def grant(member_id: uuid.UUID) -> Any:
        return client.post(f"{ADMIN}/{member_id}/roles", json=receptionist_here, headers=headers)

    to_administrator = await grant(administrator.id)
    to_fellow_manager = await grant(fellow_manager.id)
    to_both = await grant(both.id)
    to_jurong = await grant(at_jurong.id)
    to_own = await grant(own.id)  # a second role: practitioner, below
    to_own_practitioner = await client.post(
        f"{ADMIN}/{own.id}/roles",
        json={"role": "practitioner", "clinic_id": str(org.tampines)},
        headers=headers,
    )

    # then accounts with no role at their clinic do not exist for them,
    for refused in (to_administrator, to_jurong):
        assert refused.status_code == 404, refused.text
        assert refused.json()["code"] == "staff_not_found"
    # those at their clinic with roles they could not have granted are not theirs,
    for refused in (to_fellow_manager, to_both):
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "not_permitted"
    # and their own receptionist, who has that role already, may get another.
    assert to_own.status_code == 409
    assert to_own.json()["code"] == "grant_exists"
    assert to_own_practitioner.status_code == 201, to_own_practitioner.text
    # Nothing was granted to anyone else, and nobody's details were read.
    granted = (
        await session.execute(
            text("SELECT staff_id FROM staff_roles WHERE granted_by = :manager"),
            {"manager": org.manager.id},
        )
    ).scalars()
    assert set(granted) == {own.id}
    await session.commit()
    for refused in (to_administrator, to_fellow_manager, to_both, to_jurong):
        assert "@medical.example" not in refused.text
        assert "Lim Wei Jie" not in refused.text


async def test_a_clinic_manager_reads_only_the_accounts_they_manage(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given the administrator's account, holding (from before this rule) a role at the
    # manager's clinic, a fellow manager there, and the manager's own receptionist,
    administrator = await make_member(
        session, (Role.ADMINISTRATOR, None), (Role.RECEPTIONIST, org.tampines)
    )
    fellow_manager = await make_member(session, (Role.CLINIC_MANAGER, org.tampines))
    own = await make_member(session, (Role.RECEPTIONIST, org.tampines))
    headers = org.manager.headers

    # when the manager lists staff and looks each of them up,
    listed = await client.get(ADMIN, headers=headers)
    looked_up = {
        member: await client.get(f"{ADMIN}/{member.id}", headers=headers)
        for member in (administrator, fellow_manager, own)
    }
    themselves = await client.get(f"{ADMIN}/{org.manager.id}", headers=headers)

    # then they see their own receptionist, and themselves when they ask,
    assert listed.status_code == 200
    assert {account["id"] for account in listed.json()} == {str(own.id)}
    assert looked_up[own].status_code == 200
    assert looked_up[own].json()["email"] == own.email
    assert themselves.status_code == 200
    # but nothing of the accounts they do not manage.
    for member in (administrator, fellow_manager):
        refused = looked_up[member]
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "not_permitted"
        assert member.email not in refused.text
    # The administrator of every clinic reads them all.
    everyone = await client.get(ADMIN, headers=org.admin.headers)
    assert {str(administrator.id), str(fellow_manager.id), str(own.id)} <= {
        account["id"] for account in everyone.json()
    }
    # Nor may the manager take away even a role at their own clinic from those accounts (the
    # answer would show the account), while their own receptionist's goes.
    roles = {account["id"]: account["roles"] for account in everyone.json() if account["roles"]}
    for member in (administrator, fellow_manager):
        at_tampines = next(
            g["id"] for g in roles[str(member.id)] if g["clinic_id"] == str(org.tampines)
        )
        refused = await client.delete(f"{ADMIN}/{member.id}/roles/{at_tampines}", headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "not_permitted"
        assert member.email not in refused.text
    [own_grant] = roles[str(own.id)]
    taken = await client.delete(f"{ADMIN}/{own.id}/roles/{own_grant['id']}", headers=headers)
    assert taken.status_code == 200, taken.text
    assert taken.json()["roles"] == []


async def test_nobody_changes_their_own_roles_or_account(
    client: httpx.AsyncClient, org: Org
) -> None:
    # Given an administrator, and their own grant,
    me = f"{ADMIN}/{org.admin.id}"
    headers = org.admin.headers
    my_grant = (await client.get(me, headers=headers)).json()["roles"][0]["id"]
    # when they grant themselves a role, revoke their own, or touch their own account,
    answers = [
        await client.post(
            f"{me}/roles",
            json={"role": "data_protection_officer", "clinic_id": None},
            headers=headers,
        ),
        await client.delete(f"{me}/roles/{my_grant}", headers=headers),
        await client.post(f"{me}/deactivate", headers=headers),
        await client.post(f"{me}/reset-factors", headers=headers),
    ]
    # then each is refused: someone else must do it.
    assert [a.status_code for a in answers] == [403] * 4
    assert {a.json()["code"] for a in answers} == {"own_account"}


async def test_the_last_administrator_cannot_be_removed(session: AsyncSession) -> None:
    # Given two administrators, each signed in, one of whom removes the other's role,
    first = await make_member(session, (Role.ADMINISTRATOR, None))
    second = await make_member(session, (Role.ADMINISTRATOR, None))
    # (the second's request started before: their grants are as they were then)
    second_as_they_were = StaffPrincipal(second.id, (Grant(Role.ADMINISTRATOR, None),))
    first_as_they_are = StaffPrincipal(first.id, (Grant(Role.ADMINISTRATOR, None),))
    context = AuditContext(actor_kind="staff")
    second_grant = (await staff.get_staff(session, first_as_they_are, second.id)).grants[0]
    await staff.revoke_role(session, first_as_they_are, second.id, second_grant.id, context=context)
    await session.commit()
    # when the second now removes the first's role, or deactivates them,
    first_grant = (await staff.get_staff(session, second_as_they_were, first.id)).grants[0]
    # then both are refused: there would be no administrator left.
    with pytest.raises(staff.LastAdministratorError):
        await staff.revoke_role(
            session, second_as_they_were, first.id, first_grant.id, context=context
        )
    await session.rollback()
    with pytest.raises(staff.LastAdministratorError):
        await staff.set_active(
            session, second_as_they_were, first.id, active=False, context=context
        )
    await session.rollback()


async def test_an_administrator_can_be_removed_while_another_remains(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    other = await make_member(session, (Role.ADMINISTRATOR, None))
    deactivated = await client.post(f"{ADMIN}/{other.id}/deactivate", headers=org.admin.headers)
    assert deactivated.status_code == 200
    assert deactivated.json()["active"] is False


# --- roles, deactivation, factors, lockouts ------------------------------------------------------


async def test_a_granted_role_works_at_once_and_a_revoked_one_stops_at_once(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given a receptionist at Tampines, signed in,
    member = await make_member(session, (Role.RECEPTIONIST, org.tampines))
    await enrol(client, member)
    assert (await client.get(day_of(org.jurong))).status_code == 403
    # when an administrator makes them a receptionist at Jurong too,
    granted = await client.post(
        f"{ADMIN}/{member.id}/roles",
        json={"role": "receptionist", "clinic_id": str(org.jurong)},
        headers=org.admin.headers,
    )
    assert granted.status_code == 201
    # then their open session sees Jurong's day;
    assert (await client.get(day_of(org.jurong))).status_code == 200
    # the same grant twice is refused;
    twice = await client.post(
        f"{ADMIN}/{member.id}/roles",
        json={"role": "receptionist", "clinic_id": str(org.jurong)},
        headers=org.admin.headers,
    )
    assert twice.status_code == 409
    assert twice.json()["code"] == "grant_exists"
    # and once revoked, Jurong is closed to them again.
    at_jurong = next(g["id"] for g in granted.json()["roles"] if g["clinic_id"] == str(org.jurong))
    revoked = await client.delete(
        f"{ADMIN}/{member.id}/roles/{at_jurong}", headers=org.admin.headers
    )
    assert revoked.status_code == 200
    assert (await client.get(day_of(org.jurong))).status_code == 403
    gone = await client.delete(f"{ADMIN}/{member.id}/roles/{at_jurong}", headers=org.admin.headers)
    assert gone.status_code == 404
    assert gone.json()["code"] == "grant_not_found"
    rows = [r for r in await audit_rows(session, "staff.role.") if r.actor_id == org.admin.id]
    assert [(r.action, r.clinic_id, r.subject_id) for r in rows] == [
        ("staff.role.granted", org.jurong, member.id),
        ("staff.role.revoked", org.jurong, member.id),
    ]


async def test_deactivation_ends_the_sessions_and_stops_sign_in(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given a signed-in receptionist,
    member = await make_member(session, (Role.RECEPTIONIST, org.tampines))
    enrolled = await enrol(client, member)
    their_session = session_token(client)
    assert their_session is not None
    # when a manager of their clinic deactivates them,
    deactivated = await client.post(f"{ADMIN}/{member.id}/deactivate", headers=org.manager.headers)
    assert deactivated.status_code == 200
    # then their session is over, and signing in is refused;
    assert (
        await client.get(day_of(org.tampines), headers=with_cookie(their_session))
    ).status_code == 401
    client.cookies.clear()
    assert (await sign_in(client, member.email)).json()["code"] == "account_inactive"
    # once reactivated, they sign in again (the old session stays over).
    reactivated = await client.post(f"{ADMIN}/{member.id}/reactivate", headers=org.manager.headers)
    assert reactivated.json()["active"] is True
    assert (
        await client.get(day_of(org.tampines), headers=with_cookie(their_session))
    ).status_code == 401
    assert (await sign_in(client, member.email)).json()["next"] == "second_factor"
    rows = await audit_rows(session)
    deactivation = next(r for r in rows if r.action == "staff.deactivated")
    assert deactivation.actor_id == org.manager.id
    assert deactivation.detail == {"sessions_ended": 1}
    assert "staff.reactivated" in actions(rows)
    assert enrolled.secret not in everything_recorded(rows)


async def test_resetting_factors_forces_enrolment_again_and_ends_sessions(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    # Given an enrolled, signed-in member who has lost their phone,
    member = await make_member(session, (Role.RECEPTIONIST, org.tampines))
    enrolled = await enrol(client, member)
    their_session = session_token(client)
    assert their_session is not None
    # when an administrator resets their factors,
    reset = await client.post(f"{ADMIN}/{member.id}/reset-factors", headers=org.admin.headers)
    # then the account is no longer enrolled, and its session is over;
    assert reset.status_code == 200
    assert reset.json()["enrolled"] is False
    assert (
        await client.get(day_of(org.tampines), headers=with_cookie(their_session))
    ).status_code == 401
    # the next sign-in leads to enrolment, where the old recovery codes are no use;
    client.cookies.clear()
    signed = await sign_in(client, member.email)
    assert signed.json()["next"] == "enrol"
    recovery = await client.post(
        SECOND_FACTOR,
        json={"recovery_code": enrolled.recovery_codes[0]},
        headers=csrf(signed.json()["csrf_token"]),
    )
    assert recovery.status_code == 409
    remaining = (
        await session.execute(
            text("SELECT count(*) FROM staff_recovery_codes WHERE staff_id = :id"),
            {"id": member.id},
        )
    ).scalar_one()
    await session.rollback()
    assert remaining == 0
    # and the reset is on record.
    rows = await audit_rows(session, "staff.factors.reset")
    assert [(r.actor_id, r.subject_id, r.detail) for r in rows] == [
        (org.admin.id, member.id, {"sessions_ended": 1})
    ]


# --- medbook create-admin ------------------------------------------------------------------------


def run_create_admin(*args: str, password: str = PASSWORD) -> Result:
    command = typer.Typer()
    command.command()(create_admin)
    return CliRunner().invoke(command, list(args), input=password + "\n")


async def test_create_admin_bootstraps_an_administrator_who_enrols_at_first_sign_in(
    client: httpx.AsyncClient, session: AsyncSession, database_url: str
) -> None:
    # Given an empty database, when the operator runs create-admin with the password on stdin,
    result = await asyncio.to_thread(
        run_create_admin,
        "--email",
        "Chua.Boon.Huat@Medical.example",
        "--full-name",
        "Chua Boon Huat",
        "--password-stdin",
    )
    # then an administrator of every clinic exists,
    assert result.exit_code == 0, result.output
    assert "must enrol" in result.output
    grants = (
        await session.execute(
            text(
                "SELECT r.role, r.clinic_id FROM staff_roles r JOIN staff_members m "
                "ON m.id = r.staff_id WHERE m.email = 'chua.boon.huat@medical.example'"
            )
        )
    ).all()
    await session.rollback()
    assert [tuple(g) for g in grants] == [("administrator", None)]
    # who must enrol an authenticator at their first sign-in,
    signed = await sign_in(client, "chua.boon.huat@medical.example")
    assert signed.json()["next"] == "enrol"
    # and the creation is on record as the operator's.
    rows = await audit_rows(session, "staff.created")
    assert [r.actor_kind for r in rows] == ["system"]


async def test_create_admin_refuses_an_existing_email_and_a_weak_password(
    session: AsyncSession, database_url: str
) -> None:
    await make_member(session, (Role.RECEPTIONIST, None), email="taken@medical.example")
    taken = await asyncio.to_thread(
        run_create_admin,
        "--email",
        "taken@medical.example",
        "--full-name",
        "Someone Else",
        "--password-stdin",
    )
    assert taken.exit_code == 1
    assert "already exists" in taken.output
    weak = await asyncio.to_thread(
        run_create_admin,
        "--email",
        "new@medical.example",
        "--full-name",
        "Someone Else",
        "--password-stdin",
        password="password1234",
    )
    assert weak.exit_code == 1
    assert "commonly used" in weak.output
