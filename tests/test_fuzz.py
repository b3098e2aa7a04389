"""Bad input never gets a 500, and every answer is what the API document says (status, media
type, headers, body; 405 with Allow): schemathesis generates requests from our own OpenAPI document
(valid, invalid and edge-case values for every operation, and stateful sequences that follow
the API's links) and sends them to a running server, signed in as staff with every role at
every clinic, so the requests get past authentication into the code behind it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.identity.sessions import CSRF_HEADER, SESSION_COOKIE
from medbook.kernel.permissions import Role
from tests.auth import SignedIn, sign_in_patient, sign_in_staff
from tests.factories import make_world
from tests.live import LiveServer

EVERY_ROLE_EVERYWHERE = (
    (Role.RECEPTIONIST, None),
    (Role.CLINIC_MANAGER, None),
    (Role.ADMINISTRATOR, None),
    (Role.DATA_PROTECTION_OFFICER, None),
)
# Operations that would end our session or send us off to Singpass: fuzzing them tells us
# nothing (sign-out answers 204 whatever it is sent) and would leave the rest of the run
# signed out.
SIGN_OUT = ("/api/v1/auth/sign-out", "/api/v1/auth/sign-out-everywhere")
SINGPASS = r"^/api/v1/auth/singpass/"
# These check a current password or authenticator code and count each wrong one towards the
# account's lockout: five generated guesses lock the account, and a locked account's sessions
# are no longer valid. They get a run of their own, with an account of their own.
LOCKS_THE_ACCOUNT = ("/api/v1/staff/auth/password", "/api/v1/staff/auth/recovery-codes")
PATIENT_PATHS = ("--include-path-regex", r"^/api/v1/(me|holds|appointments|changes)")


# Not only "no 5xx": every answer's status, media type, headers and body must be what the API
# document says, and methods it does not list get 405 with the right Allow. Left out:
# positive_data_acceptance and negative_data_rejection, which hold the document to rules it
# cannot state (an end after its start, a strong password, a dialable phone number, one of two
# fields): those are refused with 422 and a code of their own.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "allow_header_conformance",
    "missing_required_header",
    "use_after_free",
    "ensure_resource_availability",
)


def fuzz(
    server: LiveServer, caller: SignedIn, filters: Sequence[str], workdir: Path
) -> subprocess.CompletedProcess[str]:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis is not None
    workdir.mkdir()
    return subprocess.run(
        [
            schemathesis,
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            "25",
            "--seed",
            "20261125",
            # Dates are format date(-time) with a pattern for their years (2000-2999): most
            # generated dates miss it and are filtered out, which is expected, not a problem.
            "--suppress-health-check",
            "filter_too_much",
            *filters,
            # The session below, never a made-up one: a generated session cookie would replace
            # the Cookie header, and every request would stop at 401.
            "--generation-with-security-parameters",
            "false",
            "-H",
            f"Cookie: {SESSION_COOKIE}={caller.token}",
            "-H",
            f"{CSRF_HEADER}: {caller.csrf_token}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=workdir,
    )


def failure(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout[-12000:] + result.stderr[-2000:]


def option_per_value(option: str, values: Sequence[str]) -> list[str]:
    return [part for value in values for part in (option, value)]


async def test_no_generated_request_makes_the_server_fail(
    live_server: LiveServer, session: AsyncSession, tmp_path: Path
) -> None:
    await make_world(session)  # real ids exist, so deeper code paths are reached too
    staff = await sign_in_staff(session, *EVERY_ROLE_EVERYWHERE)

    # First the operations that lock their account out, with an account of their own (the
    # lockout itself is fair game). First, because once locked the account's requests stop at
    # 401 before they count against the per-address sign-in rate limit, which the main run's
    # sign-in attempts need too.
    doomed = await sign_in_staff(session, *EVERY_ROLE_EVERYWHERE)
    included = option_per_value("--include-path", LOCKS_THE_ACCOUNT)
    result = fuzz(live_server, doomed, included, tmp_path / "lockout")
    assert result.returncode == 0, failure(result)

    excluded = [
        *option_per_value("--exclude-path", [*SIGN_OUT, *LOCKS_THE_ACCOUNT]),
        *("--exclude-path-regex", SINGPASS),
    ]
    result = fuzz(live_server, staff, excluded, tmp_path / "everything")
    assert result.returncode == 0, failure(result)
    # Nothing in the run may have ended the session: otherwise most of it ran signed out.
    still = httpx.get(f"{live_server.url}/api/v1/session", headers=staff.cookie_only)
    assert still.status_code == 200, f"the session ended during the run: {still.text}"


async def test_no_generated_request_from_a_patient_makes_the_server_fail(
    live_server: LiveServer, session: AsyncSession, tmp_path: Path
) -> None:
    # The patient's own paths answer a staff session with 403 before reaching their code: a
    # signed-in patient reaches it.
    await make_world(session)
    patient = await sign_in_patient(session)

    result = fuzz(live_server, patient, PATIENT_PATHS, tmp_path / "patient")

    assert result.returncode == 0, failure(result)
    still = httpx.get(f"{live_server.url}/api/v1/session", headers=patient.cookie_only)
    assert still.status_code == 200, f"the session ended during the run: {still.text}"
