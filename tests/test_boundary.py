"""The input boundary, the catcher of what nobody handled, and the headers every answer carries,
each shown on the piece itself; tests/test_hostile_input.py throws the whole API at them."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
import sqlalchemy.exc
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.boundary import MAX_JSON_DEPTH, InputBoundary, forbidden_character, json_depth_exceeds
from medbook.errors import UnexpectedErrors, install_error_handlers
from medbook.logs import RequestContext, SafeFormatter, new_request_id
from tests.booking.helpers import CHECKOUT, assert_problem, hold, row
from tests.factories import make_world

NESTED = MAX_JSON_DEPTH


def test_json_depth_is_measured_without_parsing() -> None:
    assert not json_depth_exceeds(b"[" * NESTED + b"]" * NESTED, NESTED)
    assert json_depth_exceeds(b"[" * (NESTED + 1) + b"]" * (NESTED + 1), NESTED)
    assert json_depth_exceeds(b'{"a":' * 100_000, NESTED)  # unclosed: still too deep
    # Brackets inside strings (escaped quotes too) are text, not nesting.
    assert not json_depth_exceeds(b'{"a": "' + b"[{" * 500 + b'\\"[[[["}', NESTED)


@pytest.mark.parametrize(
    "text", ["a\x00b", "\x1b[31m", "bell\x07", "del\x7f", "c1\x85", "\ud800", "x\udfffy", "\ufffe"]
)
def test_what_no_field_may_carry_is_found(text: str) -> None:
    assert forbidden_character(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Tan Mei Ling",
        "陈美玲",
        "தமிழ் செல்வி",
        "Nur Aisyah binti Ahmad",
        "line one\nline two\ttab\r\n",
        "🙂",
    ],
)
def test_what_people_type_passes(text: str) -> None:
    assert forbidden_character(text) is None


async def test_a_nul_in_the_visit_reason_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await make_world(session)
    held = await hold(client, world, world.at(10))

    refused = await client.post(
        f"/api/v1/holds/{held.id}/confirm",
        json={**CHECKOUT, "visit_reason": "cough\x00; DROP TABLE patients"},
        headers=held.headers,
    )
    line_break_in_name = await client.post(
        f"/api/v1/holds/{held.id}/confirm",
        json={**CHECKOUT, "patient": {**CHECKOUT["patient"], "full_name": "Tan\nMei Ling"}},
        headers=held.headers,
    )

    problem = assert_problem(refused, 422, "control_characters")
    assert "visit_reason" in problem["detail"]
    assert "DROP" not in refused.text  # where, never what
    assert_problem(line_break_in_name, 422, "validation_failed")
    stored = await row(session, held.id)
    assert (stored.status, stored.visit_reason) == ("held", "")


async def test_every_api_answer_is_no_store_and_carries_its_request_id(
    client: httpx.AsyncClient,
) -> None:
    patient = await client.patient()  # type: ignore[attr-defined]
    own_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

    session = await client.get("/api/v1/session", headers=patient.headers)
    kept = await client.get("/healthz", headers={"X-Request-ID": own_id})
    smuggled = await client.get("/healthz", headers={"X-Request-ID": "S8979373D Tan Mei Ling"})

    assert session.status_code == 200
    assert session.headers["cache-control"] == "no-store"
    assert re.fullmatch(r"[0-9a-f-]{36}", session.headers["x-request-id"])
    assert kept.headers["x-request-id"] == own_id
    assert smuggled.headers["x-request-id"] != "S8979373D Tan Mei Ling"
    assert new_request_id(None) != new_request_id(None)


async def test_the_api_documentation_is_served_from_our_own_origin(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    script = await client.get("/docs/swagger-ui-bundle.js")
    start = await client.get("/docs/start.js")

    assert page.status_code == 200
    assert "https://" not in page.text  # no CDN, no other origin
    assert re.findall(r'<script src="([^"]+)"', page.text) == [
        "/docs/swagger-ui-bundle.js",
        "/docs/start.js",
    ]
    assert "<script>" not in page.text  # no inline script: the policy forbids it
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy.split("style-src")[0]
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
    assert '"/openapi.json"' in start.text
    assert "redoc" not in (await client.get("/redoc")).text.lower()  # one docs page, not two


async def test_a_method_a_path_does_not_answer_is_405_with_every_allowed_method(
    client: httpx.AsyncClient,
) -> None:
    asked = await client.get("/api/v1/staff/auth/password")
    several = await client.delete("/api/v1/admin/staff")

    assert_problem(asked, 405, "method_not_allowed")
    assert asked.headers["allow"] == "POST"
    assert_problem(several, 405, "method_not_allowed")
    assert several.headers["allow"] == "GET, POST"


def catching_app() -> FastAPI:
    """A tiny app with the real middleware and handlers, and routes that fail on purpose."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("patient S8979373D, +65 9123 4567")

    @app.get("/pool")
    async def pool() -> None:
        raise sqlalchemy.exc.TimeoutError("QueuePool limit reached")

    app.add_middleware(InputBoundary)
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(RequestContext)
    return app


async def test_an_unexpected_error_is_a_problem_with_an_error_id_and_no_data_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=catching_app())
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        failed = await http.get("/boom")
        away = await http.get("/pool")

    problem = assert_problem(failed, 500, "internal_error")
    error_id = re.search(r"error ([0-9a-f-]{13})", problem["detail"])
    assert error_id is not None
    assert_problem(away, 503, "database_unavailable")
    assert away.headers["retry-after"] == "2"
    formatter = SafeFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert error_id.group(1) in logged
    assert "Traceback" in logged  # where it was raised...
    assert "S8979373D" not in logged  # ...but never what it said
    assert "9123" not in logged
    assert "(message withheld)" in logged
