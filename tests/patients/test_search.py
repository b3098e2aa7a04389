"""The desk finds a patient by name, phone or the end of the NRIC: never by decrypting, never
showing more than the masked NRIC, and every search on the audit trail without its words."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.booking.models import Appointment
from medbook.clinics.models import Clinic
from medbook.data_key import DataKey
from medbook.kernel.permissions import Role
from medbook.patients.service import ContactDetails, search_terms, sign_in_with_singpass
from medbook.patients.service import update_contact as set_contact
from tests.auth import AppClient, SignedIn, sign_in_staff
from tests.booking.helpers import assert_problem
from tests.factories import World, make_clinic, make_room, make_weekly_hours, make_world

SEARCH = "/api/v1/staff/patients"
MATCH_FIELDS = {"id", "full_name", "phone", "email", "nric_masked", "known_here"}


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


async def visit(
    session: AsyncSession,
    world: World,
    patient_id: uuid.UUID,
    start: datetime,
    clinic: Clinic | None = None,
    status: str = "confirmed",
) -> None:
    """A booking of the patient's, as the booking path leaves one (doctor 0 at the world's clinic
    unless told): it makes them a patient of that clinic."""
    end = start + timedelta(minutes=15)
    session.add(
        Appointment(
            kind="appointment",
            status=status,
            clinic_id=(clinic or world.clinic).id,
            practitioner_id=world.doctors[0].id,
            service_id=world.gp.id,
            patient_id=patient_id,
            starts_at=start,
            ends_at=end,
            blocked=Range(start, end, bounds="[)"),
            source="online",
        )
    )
    await session.commit()


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
        "known_here": True,
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
    world = await make_world(session)
    clinic = world.clinic
    await visit(session, world, people["ahmad"], world.at(10))
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
    ("q", "phone", "tail", "nric", "whole_phone"),
    [
        ("Tan Mei Ling", None, None, None, None),
        ("9123 4567", "91234567", None, None, "+6591234567"),
        ("+65 9123-4567", "6591234567", None, None, "+6591234567"),
        ("(65) 62223333", "6562223333", None, None, "+6562223333"),
        ("9123 456", "9123456", None, None, None),  # a part of a number is not a whole one
        ("1234 5678", "12345678", None, None, None),  # no Singapore number starts with 1
        ("12", None, None, None, None),
        ("1 2", None, None, None, None),  # two digits are no phone number
        ("373D", None, "373D", None, None),
        ("s ****373d", None, "S****373D", None, None),
        ("S1234373D", None, None, "S1234373D", None),
        ("Tan 373D", None, None, None, None),
    ],
)
def test_how_a_query_is_read(
    q: str, phone: str | None, tail: str | None, nric: str | None, whole_phone: str | None
) -> None:
    terms = search_terms(q)
    assert (terms.phone_digits, terms.nric_tail, terms.nric, terms.phone) == (
        phone,
        tail,
        nric,
        whole_phone,
    )


# --- patients of other clinics (ADR 0009) -------------------------------------------------------


@pytest.fixture
async def clinics(
    session: AsyncSession, people: dict[str, uuid.UUID]
) -> tuple[World, Clinic, SignedIn, SignedIn]:
    """Mei Ling is a patient of Tampines (a booking there), Ahmad of Jurong East only, Priya of
    no clinic yet (she signed in with Singpass once); and each clinic's desk."""
    world = await make_world(session)
    jurong = await make_clinic(session, "jurong-east", name="Medical Inc. Jurong East")
    await make_weekly_hours(session, world.doctors[0], jurong, await make_room(session, jurong))
    await session.commit()
    await visit(session, world, people["mei ling"], world.at(10))
    await visit(session, world, people["ahmad"], world.at(11), clinic=jurong)
    # A hold that ran out, at Tampines, never made Ahmad a patient there.
    await visit(session, world, people["ahmad"], world.at(12), status="expired")
    tampines_desk = await sign_in_staff(session, (Role.RECEPTIONIST, world.clinic.id))
    jurong_desk = await sign_in_staff(session, (Role.RECEPTIONIST, jurong.id))
    return world, jurong, tampines_desk, jurong_desk


def shown(found: list[dict[str, Any]], people: dict[str, uuid.UUID]) -> list[tuple[str, bool]]:
    names = {str(patient_id): name for name, patient_id in people.items()}
    return [(names[match["id"]], match["known_here"]) for match in found]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("tan", [("mei ling", True)]),  # their own patient, by any term
        ("9123", [("mei ling", True)]),
        ("373D", [("mei ling", True)]),
        ("ahmad", []),  # another clinic's patient, by a name, a part of the phone
        ("8111", []),
        ("345J", []),  # or the end of the NRIC: nothing
        ("priya", []),
        ("T0212345J", [("ahmad", False)]),  # by the whole NRIC the patient gives: found
        ("t021 2345j", [("ahmad", False)]),
        ("+65 8111 2222", [("ahmad", False)]),  # by the whole phone number: found
        ("81112222", [("ahmad", False)]),
        ("G7654321N", [("priya", False)]),  # registered, never booked anywhere: found
        ("S9999373D", []),  # a whole NRIC that nobody has
        ("8111 222", []),  # one digit short is not a whole number
    ],
)
async def test_a_desk_finds_its_clinics_patients_by_any_term_and_others_only_by_a_whole_identifier(
    client: AppClient,
    people: dict[str, uuid.UUID],
    clinics: tuple[World, Clinic, SignedIn, SignedIn],
    q: str,
    expected: list[tuple[str, bool]],
) -> None:
    _, _, tampines_desk, _ = clinics

    found = await search(client, tampines_desk, q)

    assert shown(found, people) == expected


async def test_a_patient_of_another_clinic_is_shown_with_the_least_the_desk_needs(
    client: AppClient,
    people: dict[str, uuid.UUID],
    clinics: tuple[World, Clinic, SignedIn, SignedIn],
) -> None:
    _, _, tampines_desk, jurong_desk = clinics

    [at_tampines] = await search(client, tampines_desk, "T0212345J")
    [at_jurong] = await search(client, jurong_desk, "T0212345J")
    by_name_at_jurong = await search(client, jurong_desk, "ahmad")

    # Tampines may book Ahmad on his record, and sees whom, but not how to reach him;
    assert at_tampines == {
        "id": str(people["ahmad"]),
        "full_name": "Ahmad bin Ismail",
        "phone": None,
        "email": None,
        "nric_masked": "T****345J",
        "known_here": False,
    }
    # his own clinic sees him as ever, by any term.
    assert at_jurong | {"known_here": None} == by_name_at_jurong[0] | {"known_here": None}
    assert at_jurong["phone"] == "+6581112222"
    assert at_jurong["email"] == "6581112222@mail.sg"
    assert at_jurong["known_here"] is True


async def test_finding_another_clinics_patient_is_audited_by_patient_never_by_the_words(
    client: AppClient,
    session: AsyncSession,
    people: dict[str, uuid.UUID],
    clinics: tuple[World, Clinic, SignedIn, SignedIn],
) -> None:
    _, _, tampines_desk, _ = clinics

    await search(client, tampines_desk, "T0212345J")
    await search(client, tampines_desk, "+65 8111 2222")
    await search(client, tampines_desk, "tan")

    events = (
        await session.execute(
            text(
                "SELECT action, actor_id, subject_kind, subject_id, detail FROM audit_events"
                " WHERE action LIKE 'patient.%' ORDER BY id"
            )
        )
    ).all()
    await session.commit()
    assert [(e.action, e.subject_id, e.detail) for e in events] == [
        ("patient.search", None, {"results": 1}),
        ("patient.found_by_identifier", people["ahmad"], {"by": "nric"}),
        ("patient.search", None, {"results": 1}),
        ("patient.found_by_identifier", people["ahmad"], {"by": "phone"}),
        ("patient.search", None, {"results": 1}),
    ]
    assert {e.actor_id for e in events} == {tampines_desk.id}
    written = str([tuple(e) for e in events])
    assert "345J" not in written
    assert "8111" not in written


async def test_the_desk_books_a_first_visit_on_the_record_it_found_and_makes_no_duplicate(
    client: AppClient,
    session: AsyncSession,
    people: dict[str, uuid.UUID],
    clinics: tuple[World, Clinic, SignedIn, SignedIn],
) -> None:
    world, _, tampines_desk, _ = clinics
    patients_before = await count_patients(session)
    [found] = await search(client, tampines_desk, "T0212345J")

    # His visits here: none yet, and no contact details shown for him;
    before = await client.get(
        f"/api/v1/staff/patients/{found['id']}/appointments", headers=tampines_desk.headers
    )
    assert before.status_code == 200, before.text
    assert before.json()["appointments"] == []
    assert before.json()["patient"]["phone"] is None
    # the desk books his first visit here on his record,
    booked = await client.post(
        "/api/v1/staff/walk-ins",
        json={
            "clinic_id": str(world.clinic.id),
            "practitioner_id": str(world.doctors[1].id),
            "service_id": str(world.gp.id),
            "start": world.at(15).isoformat(),
            "patient_id": found["id"],
        },
        headers=tampines_desk.headers,
    )
    assert booked.status_code == 201, booked.text

    # and from then on he is a patient of Tampines too, with no second record made.
    assert await count_patients(session) == patients_before
    assert shown(await search(client, tampines_desk, "ahmad"), people) == [("ahmad", True)]
    after = await client.get(
        f"/api/v1/staff/patients/{found['id']}/appointments", headers=tampines_desk.headers
    )
    assert [a["id"] for a in after.json()["appointments"]] == [booked.json()["id"]]
    assert after.json()["patient"]["phone"] == "+6581112222"


async def count_patients(session: AsyncSession) -> int:
    count: int = (await session.execute(text("SELECT count(*) FROM patients"))).scalar_one()
    await session.commit()
    return count
