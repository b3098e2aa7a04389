"""Bad input never gets a 500: schemathesis generates requests from our own OpenAPI document
(valid, invalid and edge-case values for every operation, and stateful sequences that follow
the API's links) and sends them to a running server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_world
from tests.live import STAFF_TOKEN, LiveServer


async def test_no_generated_request_makes_the_server_fail(
    live_server: LiveServer, session: AsyncSession, tmp_path: Path
) -> None:
    await make_world(session)  # real ids exist, so deeper code paths are reached too
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis is not None

    result = subprocess.run(
        [
            schemathesis,
            "run",
            f"{live_server.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--seed",
            "20261125",
            "-H",
            f"Authorization: Bearer {STAFF_TOKEN}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
