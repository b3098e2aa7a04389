"""Servers for the real-time tests: `live_server` (defaults) is process A; `tuned_server` is
process B, a second `medbook serve` on the same database with short timings, so one process
serves every test that needs one setting or another.

B gives holds a 3 s lifetime, and a `medbook worker` beside it announces their expiry (the API
processes run no background work): make holds through A unless the test is about expiry, or
they run out under it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live import LiveServer, start_live_server, start_worker, stop_live_server, stop_worker
from tests.realtime.helpers import (
    HOLD_TTL_SECONDS,
    MAX_CONNECTIONS_PER_SESSION,
    PUBLIC_BASE_URL,
    QUEUE_CAPACITY,
    SEND_TIMEOUT_SECONDS,
)


@pytest.fixture(scope="module")
def tuned_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    server = start_live_server(
        database_url,
        tmp_path_factory.mktemp("tuned") / "server.log",
        MEDBOOK_WS_HEARTBEAT_SECONDS="0.3",
        MEDBOOK_WS_QUEUE_CAPACITY=str(QUEUE_CAPACITY),
        MEDBOOK_WS_SEND_TIMEOUT_SECONDS=str(SEND_TIMEOUT_SECONDS),
        MEDBOOK_WS_MAX_CONNECTIONS_PER_SESSION=str(MAX_CONNECTIONS_PER_SESSION),
        MEDBOOK_WS_SESSION_CHECK_SECONDS="0.5",
        MEDBOOK_HOLD_TTL_SECONDS=str(HOLD_TTL_SECONDS),
        MEDBOOK_PUBLIC_BASE_URL=PUBLIC_BASE_URL,
    )
    worker = start_worker(
        database_url, server.log_path.with_name("worker.log"), MEDBOOK_HOLD_EXPIRY_WORKER="true"
    )
    worker.wait_for("medbook.hold_expiry: this process took the lead")
    yield server
    stop_worker(worker)
    stop_live_server(server)
    for log in (server.log_path.read_text(), worker.log):
        assert "Traceback" not in log, log[-5000:]
