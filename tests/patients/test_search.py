"""The desk finds a patient by name, phone or the end of the NRIC: never by decrypting, never
showing more than the masked NRIC, and every search on the audit trail without its words."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.data_key import DataKey
from medbook.identity.permissions import Role
from medbook.patients.service import ContactDetails, search_terms, sign_in_with_singpass
from medbook.patients.service import update_contact as set_contact
from tests.auth import AppClient, SignedIn, sign_in_staff
from tests.booking.helpers import assert_problem
from tests.factories import make_clinic

SEARCH = "/api/v1/staff/patients"
MATCH_FIELDS = {"id", "full_name", "phone", "email", "nric_masked"}


async def singpass_patient(
    session: AsyncSession, keys_dir: Path, nric: str, name: str, phone: str
) -> uuid.UUID:
    """A patient as Singpass sign-in records them (NRIC encrypted, indexed, masked), with
    contact details."""
    signed_in = await sign_in_with_singpass(
        session, DataKey.load(keys_dir), str(uuid.uuid4()), nric
    )
    await set_contact(session, signed_in.id, ContactDetails(name, phone, f"{phone[1:]}@mail.sg"))
    await session.commit()
    return signed_in.id


@pytest.fixture
async def people(session: AsyncSession, keys_dir: Path) -> dict[str, uuid.UUID]:
    return {
        "mei ling": await singpass_patient(
            session, keys_dir, "S1234373D", "Tan Mei Ling", "+6591234567"
        ),
        "ahmad": await singpass_patient(
            session, keys_dir, "T0212345J", "Ahmad bin Ismail", "+6581112222"
        ),
        "priya": await singpass_patient(
            session, keys_dir, "G7654321N", "Priya Natarajan", "+6562223333"
        ),
    }


async def search(client: AppClient, who: SignedIn, q: str) -> list[dict[str, Any]]:
    response = await client.get(SEARCH, params={"q": q}, headers=who.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("mei l", ["mei ling"]),  # a part of the name, any case
        ("TAN", ["mei ling"]),
        ("9123 4567", ["mei ling"]),  # the phone however it is typed
        ("+65 8111-2222", ["ahmad"]),
        ("(65) 62223333", ["priya"]),
        ("373D", ["mei ling"]),  # the end of the NRIC, as the desk sees it masked
        ("373d", ["mei ling"]),
        ("S****373D", ["mei ling"]),
        ("****345J", ["ahmad"]),
        ("G7654321N", ["priya"]),  # a whole NRIC, by its blind index
        ("g7654321n", ["priya"]),
        ("S9999373D", []),  # another whole NRIC with the same masked end is someone else
        ("natarajan", ["priya"]),
        ("xyz", []),
        ("%%%", []),  # wildcards are searched for, not obeyed
        ("___", []),
    ],
)
async def test_the_desk_finds_a_patient_by_name_phone_or_nric(
    client: AppClient,
    staff: SignedIn,
    people: dict[str, uuid.UUID],
    q: str,
    expected: list[str],
) -> None:
    found = await search(client, staff, q)

    assert [match["id"] for match in found] == [str(people[name]) for name in expected]


async def test_a_match_shows_contact_details_and_the_masked_nric_only(
    client: AppClient, session: AsyncSession, staff: SignedIn, people: dict[str, uuid.UUID]
) -> None:
    response = await client.get(SEARCH, params={"q": "mei ling"}, headers=staff.headers)

    [match] = response.json()
    assert set(match) == MATCH_FIELDS
    assert match == {
        "id": str(people["mei ling"]),
        "full_name": "Tan Mei Ling",
        "phone": "+6591234567",
        "email": "6591234567@mail.sg",
        "nric_masked": "S****373D",
    }
    assert "S1234373D" not in response.text


async def test_every_search_is_audited_with_its_count_never_its_words(
    client: AppClient, session: AsyncSession, staff: SignedIn, people: dict[str, uuid.UUID]
) -> None:
    await search(client, staff, "S****373D")
    await search(client, staff, "nobody-here")

    events = (
        await session.execute(
            text("SELECT * FROM audit_events WHERE action = 'patient.search' ORDER BY id")
        )
    ).all()
    await session.commit()
    assert [(e.actor_kind, e.actor_id, e.detail) for e in events] == [
        ("staff", staff.id, {"results": 1}),
        ("staff", staff.id, {"results": 0}),
    ]
    assert all(e.client_hash is not None for e in events)
    for event in events:
        written = str(tuple(event))
        assert "373D" not in written
        assert "nobody" not in written


async def test_at_most_twenty_patients_are_answered(
    client: AppClient, session: AsyncSession, staff: SignedIn
) -> None:
    await session.execute(
        text(
            "INSERT INTO patients (full_name, phone) "
            "SELECT 'Lim ' || n, '+659' || lpad(n::text, 7, '0') FROM generate_series(1, 25) n"
        )
    )
    await session.commit()

    found = await search(client, staff, "lim ")

    assert len(found) == 20
    assert [m["full_name"] for m in found] == sorted(m["full_name"] for m in found)


@pytest.mark.parametrize(
    "q", ["ab", "  ab  ", "", "x" * 101], ids=["two", "two-padded", "empty", "101"]
)
async def test_a_query_must_be_3_to_100_characters(
    client: AppClient, session: AsyncSession, staff: SignedIn, q: str
) -> None:
    response = await client.get(SEARCH, params={"q": q}, headers=staff.headers)

    assert_problem(response, 422, "validation_failed")
    audited = (await session.execute(text("SELECT count(*) FROM audit_events"))).scalar_one()
    await session.commit()
    assert audited == 0


async def test_a_query_is_required(client: AppClient, staff: SignedIn) -> None:
    assert_problem(await client.get(SEARCH, headers=staff.headers), 422, "validation_failed")


async def test_only_staff_who_may_see_patients_somewhere_may_search(
    client: AppClient, session: AsyncSession, people: dict[str, uuid.UUID]
) -> None:
    clinic = await make_clinic(session)
    administrator = await sign_in_staff(session, (Role.ADMINISTRATOR, None))
    practitioner = await sign_in_staff(session, (Role.PRACTITIONER, clinic.id))
    await session.commit()
    patient = await client.patient()

    refused = await client.get(SEARCH, params={"q": "ahmad"}, headers=administrator.headers)
    not_staff = await client.get(SEARCH, params={"q": "ahmad"}, headers=patient.headers)
    nobody = await client.get(SEARCH, params={"q": "ahmad"})
    allowed = await search(client, practitioner, "ahmad")

    assert_problem(refused, 403, "not_permitted")
    assert_problem(not_staff, 403, "staff_only")
    assert_problem(nobody, 401, "not_signed_in")
    assert [m["id"] for m in allowed] == [str(people["ahmad"])]


@pytest.mark.parametrize(
    ("q", "phone", "tail", "nric"),
    [
        ("Tan Mei Ling", None, None, None),
        ("9123 4567", "91234567", None, None),
        ("+65 9123-4567", "6591234567", None, None),
        ("12", None, None, None),
        ("1 2", None, None, None),  # two digits are no phone number
        ("373D", None, "373D", None),
        ("s ****373d", None, "S****373D", None),
        ("S1234373D", None, None, "S1234373D"),
        ("Tan 373D", None, None, None),
    ],
)
def test_how_a_query_is_read(q: str, phone: str | None, tail: str | None, nric: str | None) -> None:
    terms = search_terms(q)
    assert (terms.phone_digits, terms.nric_tail, terms.nric) == (phone, tail, nric)
