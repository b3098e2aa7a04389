"""Rate limits shared by every API process (Redis), and what happens without them.

Two real `medbook serve` processes against the machine's Redis at 127.0.0.1:6379 show one count
for both; the control run, with per-process counters, shows the harness can see the difference.
Each run keys its counters under a prefix of its own, so parallel runs never share a count.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.identity.rate_limits import RateLimitedError, RateLimits
from tests.auth import SignedIn, sign_in_patient
from tests.live import LiveServer, start_live_server, stop_live_server

LIMIT = 4
SIGN_IN = "/api/v1/staff/auth/sign-in"
HOLDS = "/api/v1/holds"


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix for this test alone; its keys are removed afterwards."""
    prefix = f"medbook-test-{uuid.uuid4().hex}"
    yield prefix
    store = redis.Redis.from_url(redis_url)
    try:
        keys = list(store.scan_iter(match=f"{prefix}*"))
        if keys:
            store.delete(*keys)
    finally:
        store.close()


def redis_keys(redis_url: str, prefix: str) -> list[str]:
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return sorted(store.scan_iter(match=f"{prefix}*"))
    finally:
        store.close()


@contextmanager
def two_servers(
    database_url: str,
    logs: Path,
    storage: str,
    key_prefix: str,
) -> Iterator[tuple[LiveServer, LiveServer]]:
    env = {
        "MEDBOOK_RATE_LIMIT_STORAGE": storage,
        "MEDBOOK_RATE_LIMIT_KEY_PREFIX": key_prefix,
        "MEDBOOK_SIGN_IN_RATE_LIMIT": f"{LIMIT}/minute",
        "MEDBOOK_HOLD_RATE_LIMIT": f"{LIMIT}/minute",
    }
    first = start_live_server(database_url, logs / "first.log", **env)
    try:
        second = start_live_server(database_url, logs / "second.log", **env)
        try:
            yield first, second
        finally:
            stop_live_server(second)
    finally:
        stop_live_server(first)


def sign_in_attempt(server: LiveServer) -> httpx.Response:
    """A wrong password for an email of its own each time: the per-email throttle never steps
    in, so only the per-address rate limit can refuse it."""
    email = f"nobody-{uuid.uuid4().hex[:8]}@medical.example"
    return httpx.post(
        f"{server.url}{SIGN_IN}",
        json={"email": email, "password": "not anyone's password"},
        timeout=30,
    )


def hold_attempt(server: LiveServer, patient: SignedIn) -> httpx.Response:
    """A hold for a time at a clinic that does not exist: counted by the limit first, then
    refused with 404 (no slot is needed to show the count)."""
    start = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    body = {
        "clinic_id": str(uuid.uuid4()),
        "practitioner_id": str(uuid.uuid4()),
        "service_id": str(uuid.uuid4()),
        "start": start.isoformat(),
    }
    return httpx.post(f"{server.url}{HOLDS}", json=body, headers=patient.headers, timeout=30)


def limited(response: httpx.Response) -> bool:
    if response.status_code != 429:
        assert response.status_code < 500, response.text
        return False
    assert response.json()["code"] == "rate_limited"
    return True


async def test_two_processes_share_one_count_in_redis(
    session: AsyncSession, database_url: str, tmp_path: Path, key_prefix: str, redis_url: str
) -> None:
    patient = await sign_in_patient(session)
    # Given two API processes on Redis,
    with two_servers(database_url, tmp_path, redis_url, key_prefix) as (a, b):
        # when one address signs in, and one patient holds, four times, alternately at each,
        sign_ins = [sign_in_attempt(a if n % 2 == 0 else b) for n in range(LIMIT)]
        holds = [hold_attempt(a if n % 2 == 0 else b, patient) for n in range(LIMIT)]
        # then all four are let through, two by each process,
        assert not any(limited(r) for r in [*sign_ins, *holds])
        assert {r.status_code for r in sign_ins} == {401}
        assert {r.status_code for r in holds} == {404}
        # and the fifth is refused by either, each having seen only two of its own:
        for server in (a, b):
            assert limited(sign_in_attempt(server))
            assert limited(hold_attempt(server, patient))
    # The counts were in Redis, under this run's prefix: one for the address, one for the
    # patient (no address or patient in clear: the address is the peer's, 127.0.0.1 here).
    keys = redis_keys(redis_url, key_prefix)
    assert len(keys) == 2, keys
    assert any("/staff-password/" in key for key in keys)
    assert any("/hold/" in key for key in keys)


async def test_control_per_process_counters_let_a_second_process_accept(
    session: AsyncSession, database_url: str, tmp_path: Path, key_prefix: str, redis_url: str
) -> None:
    patient = await sign_in_patient(session)
    # Given two API processes counting in memory (as two machines each running one would),
    with two_servers(database_url, tmp_path, "memory://", key_prefix) as (a, b):
        # when the second process has let four through and refused the fifth,
        for _ in range(LIMIT):
            assert not limited(sign_in_attempt(b))
            assert not limited(hold_attempt(b, patient))
        assert limited(sign_in_attempt(b))
        assert limited(hold_attempt(b, patient))
        # then the first accepts the same address's sign-in and the same patient's hold: the
        # defect the shared store removes, seen by this harness.
        assert not limited(sign_in_attempt(a))
        assert not limited(hold_attempt(a, patient))
    assert redis_keys(redis_url, key_prefix) == []


def serve_workers(storage: str, *flags: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medbook", "serve", "--workers", "3", "--port", "1", *flags],
        env={**os.environ, "MEDBOOK_RATE_LIMIT_STORAGE": storage, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serve_refuses_workers_with_per_process_counters_and_says_why() -> None:
    result = serve_workers("memory://")
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "its own rate-limit counters" in message
    assert "3 times each limit" in message
    assert "MEDBOOK_RATE_LIMIT_STORAGE=redis://" in message
    assert "--per-process-rate-limits" in message


@pytest.mark.parametrize(
    ("storage", "flags"),
    # serve stops at the keys check, before it would connect to any store.
    [("redis://127.0.0.1:6379", ()), ("memory://", ("--per-process-rate-limits",))],
    ids=["shared", "told_to_accept"],
)
def test_serve_runs_workers_with_shared_counters_or_when_told(
    storage: str, flags: tuple[str, ...], database_url: str, tmp_path: Path
) -> None:
    # Without key material serve stops at the next check, after the one on workers: that it
    # got there is what this shows (no server is started).
    result = serve_workers(
        storage, *flags, DATABASE_URL=database_url, MEDBOOK_KEYS_DIR=str(tmp_path)
    )
    assert result.returncode == 1
    assert "rate-limit counters" not in result.stderr
    assert "medbook keys generate" in result.stderr


@pytest.fixture
def silent_store() -> Iterator[str]:
    """A Redis URL whose server accepts connections and never answers (a hung Redis)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("store", ["refusing", "silent"])
async def test_an_unreachable_store_fails_open_with_a_warning_that_names_nobody(
    store: str, silent_store: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given limits on a Redis that refuses connections, or one that never answers,
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    uri = f"redis://127.0.0.1:{closed_port}" if store == "refusing" else silent_store
    limits = RateLimits(uri, key_prefix="medbook-test-unreachable")
    # when far more attempts come than the limit allows,
    with caplog.at_level(logging.WARNING, logger="medbook.identity.rate_limits"):
        for _ in range(5):
            await limits.hit("1/minute", "staff-password", "203.0.113.9", what="attempts")
    # then none is refused (the limits fail open; the database's throttles still stand),
    # and one warning says so, naming the limit but no address (the store is left alone a
    # few seconds after a failure rather than retried on every request).
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "rate-limit store unreachable" in warnings[0]
    assert "staff-password" in warnings[0]
    assert "203.0.113.9" not in warnings[0]
    assert "127.0.0.1" not in warnings[0]


async def test_a_reachable_store_refuses_over_the_limit(key_prefix: str, redis_url: str) -> None:
    limits = RateLimits(redis_url, key_prefix=key_prefix)
    await limits.hit("1/minute", "hold", "patient-key", what="holds")
    with pytest.raises(RateLimitedError) as refused:
        await limits.hit("1/minute", "hold", "patient-key", what="holds")
    assert 1 <= int((refused.value.headers or {})["Retry-After"]) <= 60
