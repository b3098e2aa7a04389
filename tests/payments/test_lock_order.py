"""Every booking and payment flow takes its locks in the one order of ADR 0010.

The order, within any transaction:

1. a holder's lock (one client's hold attempts), alone;
2. payment and refund rows;
3. the booking locks: advisory locks of the practitioners and rooms the transaction writes,
   all at once, in key order;
4. appointment rows, locked or written, only under those booking locks.

Two transactions that lock in one order cannot wait for each other in a circle. A deadlock
across processes needs a rare interleaving (tests/booking/test_lock_order.py forces one), so
this test checks the order itself, deterministically: it records every statement the app sends
while the flows run (hold, confirm, release, paying, paying again, a payment that arrives after
its hold ran out, cancelling a paid booking with its refund, the desk's walk-in, block, move,
check-in, completion and no-show) and reads the locks each transaction took, in turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from medbook.booking import repository
from tests.auth import AppClient
from tests.booking.helpers import CHECKOUT, book, hold, move_appointment
from tests.factories import make_world
from tests.payments.helpers import (
    GOOD_CARD,
    Localstripe,
    at_the_bank_check,
    card_token,
    paid_online,
    pass_bank_check,
    pay,
    run_out,
    start_checkout,
)

HOLDER, PAYMENT, BOOKING, APPOINTMENT = 0, 1, 2, 3
RANK_NAMES = {HOLDER: "holder lock", PAYMENT: "payment row", BOOKING: "booking lock"}
OWNER_PREFIXES = ("practitioner:", "room:")


@dataclass
class Step:
    rank: int
    names: frozenset[str] | None  # the booking locks taken; None: those of an appointment
    statement: str  # whitespace folded


@dataclass
class Transaction:
    steps: list[Step] = field(default_factory=list)

    def violations(self) -> list[str]:
        """Each step that comes after a step it must precede."""
        found = []
        highest = -1
        held: set[str] = set()
        seen: set[str] = set()
        for step in self.steps:
            # Taking again what the transaction holds never waits: booking locks it holds, or
            # payment rows an earlier identical look-up locked (start_payment looks again
            # under the hold's lock, for a payment opened meanwhile: see ADR 0010).
            again = (step.rank == BOOKING and step.names is not None and step.names <= held) or (
                step.rank == PAYMENT and step.statement in seen
            )
            seen.add(step.statement)
            if step.rank < highest and not again:
                found.append(f"{RANK_NAMES[step.rank]} after a later kind: {step.statement[:90]}")
            if step.rank == APPOINTMENT and highest < BOOKING:
                found.append(f"appointment row without booking locks: {step.statement[:90]}")
            if step.rank == BOOKING and step.names:
                held |= step.names
            highest = max(highest, step.rank)
        return found


def lock_names(parameters: Any) -> list[str]:
    values = parameters.values() if isinstance(parameters, dict) else parameters or ()
    for value in values:
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return value
    return []


def steps_of(statement: str, parameters: Any) -> list[Step]:
    """The lock-taking steps of one statement, in the order it takes them."""
    text = " ".join(statement.split())
    appointment_write = text.startswith(("INSERT INTO appointments", "UPDATE appointments"))
    steps = []
    if "pg_advisory_xact_lock" in text:
        names = lock_names(parameters)
        if "FROM appointments a CROSS JOIN LATERAL" in text:
            steps.append(Step(BOOKING, None, text))
        elif names and not all(name.startswith(OWNER_PREFIXES) for name in names):
            steps.append(Step(HOLDER, None, text))
        elif names:
            steps.append(Step(BOOKING, frozenset(names), text))
    elif "FOR UPDATE" in text and ("FROM payments" in text or "FROM refunds" in text):
        steps.append(Step(PAYMENT, None, text))
    if appointment_write or ("FOR UPDATE" in text and "FROM appointments" in text):
        steps.append(Step(APPOINTMENT, None, text))
    return steps


class LockAudit:
    """The statements the app's engine sends, as the lock steps of each transaction."""

    def __init__(self) -> None:
        self.open: dict[int, Transaction] = {}
        self.done: list[Transaction] = []

    def executed(self, connection: Connection, statement: str, parameters: Any) -> None:
        for step in steps_of(statement, parameters):
            self.open.setdefault(id(connection), Transaction()).steps.append(step)

    def ended(self, connection: Connection) -> None:
        transaction = self.open.pop(id(connection), None)
        if transaction is not None:
            self.done.append(transaction)

    @contextmanager
    def watching(self, engine: AsyncEngine) -> Iterator[LockAudit]:
        def before(
            connection: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any
        ) -> None:
            self.executed(connection, statement, parameters)

        target = engine.sync_engine
        listeners = [("before_cursor_execute", before), ("commit", self.ended)]
        listeners.append(("rollback", self.ended))
        for name, listener in listeners:
            event.listen(target, name, listener)
        try:
            yield self
        finally:
            for name, listener in listeners:
                event.remove(target, name, listener)


async def test_every_booking_and_payment_flow_takes_its_locks_in_one_order(
    client: AppClient,
    session: AsyncSession,
    localstripe: Localstripe,
    staff_headers: dict[str, str],
) -> None:
    world = await make_world(session)
    await paid_online(session, world)
    patient = await client.patient()
    engine: AsyncEngine = client.app.state.engine

    with LockAudit().watching(engine) as audit:
        # A patient books a GP visit (paid at the clinic), and gives back another hold.
        visit = await book(client, world, world.at(9))
        given_back = await hold(client, world, world.at(9, 30), client_id="second")
        await client.delete(f"/api/v1/holds/{given_back.id}", headers=given_back.headers)
        # Pays a screening online, opening the payment twice (a reload) before paying.
        started = await start_checkout(client, world, world.at(11), patient)
        reopened = await client.post(
            f"/api/v1/holds/{started.hold_id}/payment", json=CHECKOUT, headers=patient.headers
        )
        token = await card_token(localstripe.url, started.fields, GOOD_CARD)
        paid = await pay(client, started, token)
        # A payment whose bank check outlasts its hold: the return page takes the time back.
        late, fields = await at_the_bank_check(
            client, localstripe, world, world.at(14), await client.patient("late")
        )
        await run_out(session, late.hold_id)
        await pass_bank_check(localstripe.url, fields)
        returned = await client.get(
            f"/api/v1/payments/{late.payment_id}", headers=late.patient.headers
        )
        # The clinic cancels the paid screening: refunded in full, in the same transaction.
        cancelled = await client.post(
            f"/api/v1/staff/appointments/{started.hold_id}/cancel",
            json={"reason": "doctor unwell"},
            headers=staff_headers,
        )
        # The desk: a walk-in, a block and its removal, a move to another doctor, then (their
        # times moved to now) an arrival and its completion, and a no-show.
        desk = await desk_day(client, world, staff_headers)
        await move_appointment(session, visit.id, timedelta(minutes=-5))
        await move_appointment(session, desk[-1].json()["id"], timedelta(minutes=-30))
        arrived = await client.post(
            f"/api/v1/staff/appointments/{visit.id}/check-in", headers=staff_headers
        )
        completed = await client.post(
            f"/api/v1/staff/appointments/{visit.id}/complete", headers=staff_headers
        )
        no_show = await client.post(
            f"/api/v1/staff/appointments/{desk[-1].json()['id']}/no-show", headers=staff_headers
        )

    answers = [reopened, paid, returned, cancelled, *desk, arrived, completed, no_show]
    assert [r.status_code for r in answers] == [201, 200, 200, 200, 201, 201, 200, 201] + [200] * 3
    assert returned.json()["appointment"]["status"] == "confirmed"  # taken back
    assert cancelled.json()["refunds"], cancelled.text
    writers = [t for t in audit.done if any(s.rank == APPOINTMENT for s in t.steps)]
    assert len(writers) >= 14
    assert [v for t in audit.done for v in t.violations()] == []


async def desk_day(client: AppClient, world: Any, staff_headers: dict[str, str]) -> list[Any]:
    patient_id = str((await client.patient("walk-in")).id)
    walked_in = await client.post(
        "/api/v1/staff/walk-ins",
        json={
            "clinic_id": str(world.clinic.id),
            "practitioner_id": str(world.doctors[1].id),
            "service_id": str(world.gp.id),
            "start": world.at(16).isoformat(),
            "patient_id": patient_id,
        },
        headers=staff_headers,
    )
    blocked = await client.post(
        "/api/v1/staff/blocks",
        json={
            "clinic_id": str(world.clinic.id),
            "practitioner_id": str(world.doctors[0].id),
            "start": world.at(17).isoformat(),
            "end": world.at(18).isoformat(),
            "reason": "team meeting",
        },
        headers=staff_headers,
    )
    removed = await client.delete(
        f"/api/v1/staff/blocks/{blocked.json()['id']}", headers=staff_headers
    )
    moved = await client.post(
        f"/api/v1/staff/appointments/{walked_in.json()['id']}/reschedule",
        json={"start": world.at(16, 30).isoformat(), "practitioner_id": str(world.doctors[0].id)},
        headers=staff_headers,
    )
    return [walked_in, blocked, removed, moved]


async def test_control_the_audit_sees_writes_without_booking_locks(
    client: AppClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the practitioner and room locks switched off (as tests/booking/unordered_server.py
    does), each transaction that writes an appointment is reported."""
    monkeypatch.setattr(repository, "lock_names", lambda *_owners: [])
    monkeypatch.setattr(repository, "lock_time_of", _no_lock)
    world = await make_world(session)

    with LockAudit().watching(client.app.state.engine) as audit:
        await book(client, world, world.at(9))
        given_back = await hold(client, world, world.at(9, 30), client_id="second")
        await client.delete(f"/api/v1/holds/{given_back.id}", headers=given_back.headers)

    reported = [t.violations() for t in audit.done if t.violations()]
    assert len(reported) == 4  # two holds, the confirmation, the release
    assert all(v.startswith("appointment row without booking locks") for r in reported for v in r)


async def _no_lock(*_args: object) -> None:
    return None
