"""Staff sign-in over HTTP: password, enrolment, second factor, rate limits, sessions.

Throttling of failed attempts has its own file: test_sign_in_throttle.py.
"""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.identity import passwords
from medbook.kernel.permissions import Role
from medbook.settings import get_settings
from tests.factories import make_clinic
from tests.identity.staff_helpers import (
    CONFIRM,
    ENROLMENT,
    PASSWORD,
    PASSWORD_CHANGE,
    RECOVERY_CODES,
    SECOND_FACTOR,
    Member,
    actions,
    audit_rows,
    code,
    csrf,
    enrol,
    everything_recorded,
    failures_counted,
    make_member,
    session_token,
    sign_in,
    sign_in_with_code,
    use_fast_hashing,
    with_cookie,
    wrong_code,
)

DAY = "2026-12-01"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_hashing(monkeypatch)


@pytest.fixture
async def receptionist(session: AsyncSession) -> tuple[Member, str]:
    """A receptionist at one clinic, not yet enrolled; and the path of that clinic's day."""
    clinic = await make_clinic(session, "tampines")
    member = await make_member(session, (Role.RECEPTIONIST, clinic.id))
    return member, f"/api/v1/staff/clinics/{clinic.id}/day?day={DAY}"


async def test_first_sign_in_enrols_then_later_sign_ins_ask_for_a_code(
    client: httpx.AsyncClient, receptionist: tuple[Member, str]
) -> None:
    member, clinic_day = receptionist
    # Given a new account, when they sign in with their password,
    signed = await sign_in(client, member.email)
    # then they are told to enrol, with the CSRF token for the next step;
    assert signed.status_code == 200
    assert signed.json()["next"] == "enrol"
    step_csrf = signed.json()["csrf_token"]
    # enrolment gives the secret as an otpauth URI of Medical Inc. and as a QR code;
    started = await client.post(ENROLMENT, headers=csrf(step_csrf))
    assert started.status_code == 200
    enrolment = started.json()
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/Medical%20Inc.:")
    assert "issuer=Medical%20Inc." in enrolment["otpauth_uri"]
    assert f"secret={enrolment['secret']}" in enrolment["otpauth_uri"]
    assert enrolment["qr_svg"].startswith("<svg")
    assert "</svg>" in enrolment["qr_svg"]
    assert started.headers["cache-control"] == "no-store"
    # confirming with the app's first code signs them in and shows ten recovery codes;
    confirmed = await client.post(
        CONFIRM, json={"code": code(enrolment["secret"])}, headers=csrf(step_csrf)
    )
    assert confirmed.status_code == 200
    assert len(confirmed.json()["recovery_codes"]) == 10
    assert len(set(confirmed.json()["recovery_codes"])) == 10
    assert (await client.get(clinic_day)).status_code == 200
    # and after signing out, the password leads to the code step, which lets them in again.
    signed_out = await client.post(
        "/api/v1/auth/sign-out", headers=csrf(confirmed.json()["csrf_token"])
    )
    assert signed_out.status_code == 204
    assert (await client.get(clinic_day)).status_code == 401
    again = await sign_in_with_code(client, member, code(enrolment["secret"], steps_ahead=1))
    assert again.status_code == 200
    assert again.json()["staff_id"] == str(member.id)
    assert (await client.get(clinic_day)).status_code == 200


async def test_a_code_is_accepted_once_only(
    client: httpx.AsyncClient, session: AsyncSession, receptionist: tuple[Member, str]
) -> None:
    # Given an enrolled member who signed in with a code,
    member, _ = receptionist
    enrolled = await enrol(client, member)
    client.cookies.clear()
    used = code(enrolled.secret, steps_ahead=1)
    assert (await sign_in_with_code(client, member, used)).status_code == 200
    # when the same code is replayed (still inside its 30 s window),
    client.cookies.clear()
    replayed = await sign_in_with_code(client, member, used)
    # then it is refused, and counted.
    assert replayed.status_code == 401
    assert replayed.json()["code"] == "invalid_code"
    assert await failures_counted(session, member.id) == 1


async def test_a_code_from_an_earlier_step_than_the_last_one_used_is_refused(
    client: httpx.AsyncClient, receptionist: tuple[Member, str]
) -> None:
    # Given a member who just signed in with the code of the next time step,
    member, _ = receptionist
    enrolled = await enrol(client, member)
    client.cookies.clear()
    assert (await sign_in_with_code(client, member, code(enrolled.secret, 1))).status_code == 200
    # when they try the current step's code (seen earlier, never used),
    client.cookies.clear()
    older = await sign_in_with_code(client, member, code(enrolled.secret, 0))
    # then it is spent too: codes only move forward.
    assert older.json()["code"] == "invalid_code"


async def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(
    client: httpx.AsyncClient, session: AsyncSession, receptionist: tuple[Member, str]
) -> None:
    # Given one real account,
    member, _ = receptionist
    # when someone tries a wrong password for it, and any password for an unknown email,
    wrong = await sign_in(client, member.email, "not my password at all")
    unknown = await sign_in(client, "nobody@medical.example", "not my password at all")
    # then both answers are the same, word for word;
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() | {"instance": ""} == unknown.json() | {"instance": ""}
    # and the unknown one is recorded without naming anyone.
    rows = await audit_rows(session, "staff.sign_in.failed")
    assert rows[-1].detail == {"reason": "unknown_account", "stage": "password"}
    assert rows[-1].subject_id is None
    assert "nobody" not in everything_recorded(rows)


async def test_emails_are_matched_whatever_their_case(
    client: httpx.AsyncClient, receptionist: tuple[Member, str]
) -> None:
    member, _ = receptionist
    signed = await sign_in(client, "  " + member.email.upper() + " ")
    assert signed.status_code == 200


async def test_a_recovery_code_replaces_a_code_once(
    client: httpx.AsyncClient, session: AsyncSession, receptionist: tuple[Member, str]
) -> None:
    # Given an enrolled member without their phone,
    member, clinic_day = receptionist
    enrolled = await enrol(client, member)
    client.cookies.clear()
    recovery_code = enrolled.recovery_codes[3]
    # when they sign in with one of their recovery codes (typed in capitals, no dash),
    signed = await sign_in(client, member.email)
    used = await client.post(
        SECOND_FACTOR,
        json={"recovery_code": recovery_code.replace("-", "").upper()},
        headers=csrf(signed.json()["csrf_token"]),
    )
    # then they are in;
    assert used.status_code == 200
    assert (await client.get(clinic_day)).status_code == 200
    # but the same recovery code does not work a second time.
    client.cookies.clear()
    signed = await sign_in(client, member.email)
    again = await client.post(
        SECOND_FACTOR,
        json={"recovery_code": recovery_code},
        headers=csrf(signed.json()["csrf_token"]),
    )
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_code"
    rows = await audit_rows(session, "staff.recovery_code.used")
    assert [row.detail for row in rows] == [{"remaining": 9}]


async def test_passing_the_second_factor_rotates_the_session(
    client: httpx.AsyncClient, receptionist: tuple[Member, str]
) -> None:
    # Given a member past their password, holding the pre-authentication cookie,
    member, clinic_day = receptionist
    enrolled = await enrol(client, member)
    client.cookies.clear()
    signed = await sign_in(client, member.email)
    old_token, old_csrf = session_token(client), signed.json()["csrf_token"]
    assert old_token is not None
    # when they pass the second factor,
    passed = await client.post(
        SECOND_FACTOR, json={"code": code(enrolled.secret, 1)}, headers=csrf(old_csrf)
    )
    assert passed.status_code == 200
    # then they hold a new cookie and a new CSRF token,
    new_token, new_csrf = session_token(client), passed.json()["csrf_token"]
    assert new_token not in (None, old_token)
    assert new_csrf != old_csrf
    assert (await client.get(clinic_day, headers=with_cookie(new_token or ""))).status_code == 200
    # and the old cookie is dead, as is the old CSRF token.
    assert (await client.get(clinic_day, headers=with_cookie(old_token))).status_code == 401
    stale_csrf = await client.post(
        RECOVERY_CODES, json={"code": "123456"}, headers=with_cookie(new_token or "", old_csrf)
    )
    assert stale_csrf.json()["code"] == "csrf_failed"


async def test_signing_in_again_ends_the_session_the_browser_had(
    client: httpx.AsyncClient, receptionist: tuple[Member, str]
) -> None:
    # Given a browser with a full session,
    member, clinic_day = receptionist
    await enrol(client, member)
    previous = session_token(client)
    assert previous is not None
    # when it signs in again (with or without that session's CSRF token),
    again = await sign_in(client, member.email)
    assert again.status_code == 200
    # then the previous session is over.
    assert (await client.get(clinic_day, headers=with_cookie(previous))).status_code == 401


@pytest.mark.parametrize("enrolled", [True, False], ids=["second_factor", "enrol"])
async def test_a_half_signed_in_session_reaches_no_staff_api(
    client: httpx.AsyncClient, receptionist: tuple[Member, str], enrolled: bool
) -> None:
    # Given a member who has given only their password,
    member, clinic_day = receptionist
    if enrolled:
        await enrol(client, member)
        client.cookies.clear()
    signed = await sign_in(client, member.email)
    assert signed.json()["next"] == ("second_factor" if enrolled else "enrol")
    # when that session asks for a clinic's day or the staff list,
    day = await client.get(clinic_day)
    staff_list = await client.get("/api/v1/admin/staff")
    # then both say the second factor comes first.
    for answer in (day, staff_list):
        assert answer.status_code == 401
        assert answer.json()["code"] == "second_factor_required"


async def test_steps_must_come_in_order(
    client: httpx.AsyncClient, receptionist: tuple[Member, str]
) -> None:
    # Given a new member at the enrolment step,
    member, _ = receptionist
    signed = await sign_in(client, member.email)
    # when they post a code to the second-factor step (or confirm before starting),
    early = await client.post(
        SECOND_FACTOR, json={"code": "123456"}, headers=csrf(signed.json()["csrf_token"])
    )
    unstarted = await client.post(
        CONFIRM, json={"code": "123456"}, headers=csrf(signed.json()["csrf_token"])
    )
    # then both are refused as out of order.
    assert early.status_code == unstarted.status_code == 409
    assert early.json()["code"] == unstarted.json()["code"] == "wrong_sign_in_stage"


async def test_an_enrolment_session_cannot_replace_a_confirmed_authenticator(
    client: httpx.AsyncClient, receptionist: tuple[Member, str]
) -> None:
    # Given a new member who gave their password in two browsers,
    member, _ = receptionist
    other = await sign_in(client, member.email)
    other_browser = with_cookie(session_token(client) or "", other.json()["csrf_token"])
    client.cookies.clear()
    # when they enrol in one of them,
    enrolled = await enrol(client, member)
    # then the other browser's half-finished enrolment can no longer start afresh or confirm.
    restarted = await client.post(ENROLMENT, headers=other_browser)
    confirmed = await client.post(
        CONFIRM, json={"code": code(enrolled.secret, 1)}, headers=other_browser
    )
    assert restarted.status_code == confirmed.status_code == 409
    assert restarted.json()["code"] == confirmed.json()["code"] == "wrong_sign_in_stage"


async def test_a_state_changing_step_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, receptionist: tuple[Member, str]
) -> None:
    # Given a member past their password,
    member, _ = receptionist
    await sign_in(client, member.email)
    # when the next step comes without the X-CSRF-Token header,
    started = await client.post(ENROLMENT)
    # then it is refused.
    assert started.status_code == 403
    assert started.json()["code"] == "csrf_failed"


async def test_sign_in_attempts_are_rate_limited_per_address(
    client: httpx.AsyncClient, receptionist: tuple[Member, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a limit of three attempts a minute,
    monkeypatch.setattr(get_settings(), "sign_in_rate_limit", "3/minute")
    member, _ = receptionist
    for _ in range(3):
        assert (await sign_in(client, member.email, "wrong password, again")).status_code == 401
    # when a fourth comes from the same address, even with the right password,
    fourth = await sign_in(client, member.email)
    # then it is turned away before the password is looked at.
    assert fourth.status_code == 429
    assert fourth.json()["code"] == "rate_limited"
    assert int(fourth.headers["retry-after"]) >= 1


async def test_code_attempts_are_rate_limited_per_address(
    client: httpx.AsyncClient, receptionist: tuple[Member, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an enrolled member at the code step, and a limit of two code attempts a minute,
    member, _ = receptionist
    enrolled = await enrol(client, member)
    client.cookies.clear()
    monkeypatch.setattr(get_settings(), "sign_in_rate_limit", "2/minute")
    signed = await sign_in(client, member.email)
    step = csrf(signed.json()["csrf_token"])
    for _ in range(2):
        wrong = await client.post(
            SECOND_FACTOR, json={"code": wrong_code(enrolled.secret)}, headers=step
        )
        assert wrong.status_code == 401
    # when a third code comes, even the right one,
    third = await client.post(SECOND_FACTOR, json={"code": code(enrolled.secret, 1)}, headers=step)
    # then it is turned away unchecked.
    assert third.status_code == 429
    assert third.json()["code"] == "rate_limited"


async def test_a_deactivated_account_is_told_only_when_the_password_is_right(
    client: httpx.AsyncClient, session: AsyncSession, receptionist: tuple[Member, str]
) -> None:
    # Given a deactivated account,
    member, _ = receptionist
    await session.execute(
        text("UPDATE staff_members SET active = false WHERE id = :id"), {"id": member.id}
    )
    await session.commit()
    # when someone guesses a wrong password, then they learn nothing about it;
    wrong = await sign_in(client, member.email, "not my password at all")
    assert wrong.json()["code"] == "invalid_credentials"
    # when the owner signs in, then they are told it is deactivated.
    right = await sign_in(client, member.email)
    assert right.status_code == 403
    assert right.json()["code"] == "account_inactive"
    rows = await audit_rows(session, "staff.sign_in.failed")
    assert rows[-1].detail["reason"] == "inactive"


async def test_changing_the_password_ends_every_other_session(
    client: httpx.AsyncClient, session: AsyncSession, receptionist: tuple[Member, str]
) -> None:
    # Given a member signed in on two browsers,
    member, clinic_day = receptionist
    enrolled = await enrol(client, member)
    other_browser = session_token(client)
    assert other_browser is not None
    client.cookies.clear()
    second = await sign_in_with_code(client, member, code(enrolled.secret, 1))
    # when they change their password on this one,
    new_password = "a different passphrase entirely"
    changed = await client.post(
        PASSWORD_CHANGE,
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=csrf(second.json()["csrf_token"]),
    )
    # then this browser carries on with a new session, the other one is signed out,
    assert changed.status_code == 200
    assert (await client.get(clinic_day)).status_code == 200
    assert (await client.get(clinic_day, headers=with_cookie(other_browser))).status_code == 401
    # only the new password works from now on,
    client.cookies.clear()
    assert (await sign_in(client, member.email)).json()["code"] == "invalid_credentials"
    assert (await sign_in(client, member.email, new_password)).status_code == 200
    # and the audit trail has the change, but neither password.
    rows = await audit_rows(session)
    assert "staff.password.changed" in actions(rows)
    assert PASSWORD not in everything_recorded(rows)
    assert new_password not in everything_recorded(rows)


async def test_a_password_change_needs_the_current_password_and_a_good_new_one(
    client: httpx.AsyncClient, session: AsyncSession, receptionist: tuple[Member, str]
) -> None:
    member, _ = receptionist
    enrolled = await enrol(client, member)
    headers = csrf(enrolled.csrf_token)
    # A wrong current password is refused and counted;
    wrong = await client.post(
        PASSWORD_CHANGE,
        json={"current_password": "a guess at the password", "new_password": "x" * 20},
        headers=headers,
    )
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_credentials"
    assert await failures_counted(session, member.id) == 1
    # a new password against the policy is refused with its reasons;
    weak = await client.post(
        PASSWORD_CHANGE,
        json={"current_password": PASSWORD, "new_password": "Password2025!"},
        headers=headers,
    )
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    assert "commonly used" in weak.json()["detail"]
    # and so is the same password again.
    same = await client.post(
        PASSWORD_CHANGE,
        json={"current_password": PASSWORD, "new_password": PASSWORD},
        headers=headers,
    )
    assert same.json()["code"] == "weak_password"


async def test_new_recovery_codes_need_a_code_and_void_the_old_ones(
    client: httpx.AsyncClient, session: AsyncSession, receptionist: tuple[Member, str]
) -> None:
    # Given an enrolled, signed-in member,
    member, _ = receptionist
    enrolled = await enrol(client, member)
    headers = csrf(enrolled.csrf_token)
    # when they ask for new recovery codes with a wrong code, then they get none;
    refused = await client.post(
        RECOVERY_CODES, json={"code": wrong_code(enrolled.secret)}, headers=headers
    )
    assert refused.json()["code"] == "invalid_code"
    # with a current code, they get ten new ones,
    fresh = await client.post(
        RECOVERY_CODES, json={"code": code(enrolled.secret, 1)}, headers=headers
    )
    assert fresh.status_code == 200
    new_codes = fresh.json()["recovery_codes"]
    assert len(new_codes) == 10
    assert not set(new_codes) & set(enrolled.recovery_codes)
    # and an old one no longer works.
    client.cookies.clear()
    signed = await sign_in(client, member.email)
    old = await client.post(
        SECOND_FACTOR,
        json={"recovery_code": enrolled.recovery_codes[0]},
        headers=csrf(signed.json()["csrf_token"]),
    )
    assert old.json()["code"] == "invalid_code"
    assert "staff.recovery_codes.regenerated" in actions(await audit_rows(session))


async def test_a_hash_made_with_older_parameters_is_upgraded_at_sign_in(
    client: httpx.AsyncClient,
    session: AsyncSession,
    receptionist: tuple[Member, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a password hashed before the parameters were raised,
    member, _ = receptionist
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1, type=Type.ID)
    monkeypatch.setattr(passwords, "HASHER", stronger)
    # when its owner signs in,
    assert (await sign_in(client, member.email)).status_code == 200
    # then the stored hash has the new parameters, and still matches.
    stored = (
        await session.execute(
            text("SELECT password_hash FROM staff_members WHERE id = :id"), {"id": member.id}
        )
    ).scalar_one()
    await session.rollback()
    assert stored.startswith("$argon2id$v=19$m=16,t=2,p=1$")
    assert stronger.verify(stored, PASSWORD)


async def test_the_audit_trail_of_a_sign_in_holds_no_secret(
    client: httpx.AsyncClient, session: AsyncSession, receptionist: tuple[Member, str]
) -> None:
    # Given a member who enrols, mistypes a code, and signs in with the right one,
    member, _ = receptionist
    enrolled = await enrol(client, member)
    client.cookies.clear()
    bad = wrong_code(enrolled.secret)
    signed = await sign_in(client, member.email)
    await client.post(SECOND_FACTOR, json={"code": bad}, headers=csrf(signed.json()["csrf_token"]))
    good = code(enrolled.secret, 1)
    await client.post(SECOND_FACTOR, json={"code": good}, headers=csrf(signed.json()["csrf_token"]))
    # then each event is recorded against them,
    rows = await audit_rows(session)
    assert actions(rows) == [
        "staff.created",
        "staff.role.granted",
        "staff.sign_in.password_accepted",
        "staff.factor.enrolment_started",
        "staff.factor.enrolled",
        "staff.signed_in",
        "staff.sign_in.password_accepted",
        "staff.sign_in.failed",
        "staff.signed_in",
    ]
    assert all(row.subject_id == member.id for row in rows)
    assert rows[-1].detail == {"method": "totp"}
    assert rows[-2].detail == {"reason": "bad_code", "stage": "second_factor"}
    # and nothing in it is a password, a code or the secret.
    recorded = everything_recorded(rows)
    for secret in (PASSWORD, enrolled.secret, bad, good, *enrolled.recovery_codes):
        assert secret not in recorded
