"""Every operation in the API document, sent what a stranger might send: NUL and other control
characters, lone surrogates, wrong types in every field, JSON nested 100,000 deep, 2 MB bodies,
bodies of the wrong media type. Signed out, as a patient and as staff with every role.

The server must answer each with a 4xx problem+json (or a success), never a 5xx, and keep the
keep-alive connection: the next request goes over the same socket (http.client with auto_open
off raises if the server has closed it).
"""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from medbook.kernel.permissions import Role
from tests.auth import SignedIn, sign_in_patient, sign_in_staff
from tests.factories import World, make_world
from tests.stack import Stack, start_stack, stop_stack

EVERY_ROLE_EVERYWHERE = (
    (Role.RECEPTIONIST, None),
    (Role.CLINIC_MANAGER, None),
    (Role.ADMINISTRATOR, None),
    (Role.DATA_PROTECTION_OFFICER, None),
)
# Ending the caller's own session would leave the rest of the run signed out: these are sent
# signed out only.
ENDS_THE_SESSION = ("/api/v1/auth/sign-out", "/api/v1/auth/sign-out-everywhere")
METHODS = ("get", "post", "put", "patch", "delete")
CONTROL_VALUES = ("a\x00b", "a\x1bb", "\x07", "a\x7fb", "a\x85b", "\ud800", "x\udfffy")
WRONG_TYPES: tuple[Any, ...] = (12345, "not-the-right-kind", [], {}, None, True, 1e308, 10**40)
# Path and query values, percent-encoded as a client would put them on the wire.
HOSTILE_PARAMETERS = (
    "%00",
    "a%1Bb",
    "%ED%A0%80",  # a UTF-16 surrogate, encoded as UTF-8 (which is not allowed)
    "%FF%FE",  # not UTF-8 at all
    "-1",
    "99999999999999999999999999",
    "x" * 600,
    "%20",
)
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
BIG_BODY = b'{"reason": "' + b"x" * (2 << 20) + b'"}'
WHOLE_BODIES: tuple[tuple[str, bytes, str | None], ...] = (
    ("deep", DEEP_JSON, "application/json"),
    ("deep-objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    ("big", BIG_BODY, "application/json"),
    ("big-undeclared", BIG_BODY, None),
    ("text", b"reason=hello", "text/plain"),
    ("form", b"reason=hello&card=4242424242424242", "application/x-www-form-urlencoded"),
    (
        "multipart",
        b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--\r\n",
        "multipart/form-data; boundary=x",
    ),
    ("xml", b"<a>b</a>", "application/xml"),
    ("not-json", b"{", "application/json"),
    ("not-utf8", b'{"reason": "\xff\xfe"}', "application/json"),
    ("utf16", '{"reason": "x"}'.encode("utf-16"), "application/json"),
    ("nul-string", b'"\\u0000"', "application/json"),
    ("array", b"[1, 2, 3]", "application/json"),
    ("huge-number", b'{"amount_cents": ' + b"9" * 5000 + b"}", "application/json"),
    ("empty", b"", "application/json"),
)


@dataclass
class Operation:
    method: str
    path: str
    path_parameters: list[str]
    query_parameters: list[dict[str, Any]]
    body_schema: dict[str, Any] | None


@dataclass
class Finding:
    what: str
    status: int
    detail: str


@dataclass
class Caller:
    name: str
    headers: dict[str, str]
    findings: list[Finding] = field(default_factory=list)
    sent: int = 0


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [*item.get("parameters", ()), *operation.get("parameters", ())]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            yield Operation(
                method.upper(),
                path,
                [p["name"] for p in parameters if p["in"] == "path"],
                [p for p in parameters if p["in"] == "query"],
                resolve(document, body["schema"]) if body else None,
            )


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


class Bodies:
    """A plausible body for a schema (right types, real ids where the name says which), and
    from it one body per field per hostile value."""

    def __init__(self, document: dict[str, Any], world: World) -> None:
        self.document = document
        self.ids = {
            "clinic_id": str(world.clinic.id),
            "practitioner_id": str(world.doctors[0].id),
            "service_id": str(world.gp.id),
        }

    def plausible(self, schema: dict[str, Any], name: str = "") -> Any:
        schema = resolve(self.document, schema)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                options = [
                    s for s in schema[key] if resolve(self.document, s).get("type") != "null"
                ]
                return self.plausible(options[0], name) if options else None
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return {
                prop: self.plausible(sub, prop)
                for prop, sub in schema.get("properties", {}).items()
            }
        if kind == "array":
            return [self.plausible(schema.get("items", {}), name)]
        if kind == "integer":
            return max(1, int(schema.get("minimum", 1)))
        if kind == "number":
            return 1.5
        if kind == "boolean":
            return True
        form = schema.get("format")
        if form == "uuid":
            return self.ids.get(name, str(uuid.uuid4()))
        if form == "date-time":
            return "2030-01-07T10:00:00+08:00"
        if form == "date":
            return "2030-01-07"
        if form == "time":
            return "10:00:00"
        return "x" * max(1, int(schema.get("minLength", 1)))

    def variants(self, schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        """(what, body): each field of the plausible body replaced by each hostile value, at
        the top level and one level down."""
        base = self.plausible(schema)
        if not isinstance(base, dict):
            return
        for name, value in base.items():
            for hostile in (*CONTROL_VALUES, *WRONG_TYPES):
                yield f"{name}={hostile!r:.20}", {**base, name: hostile}
            if isinstance(value, dict):
                for inner in value:
                    for hostile in CONTROL_VALUES[:2] + WRONG_TYPES[:2]:
                        yield (
                            f"{name}.{inner}={hostile!r:.20}",
                            {**base, name: {**value, inner: hostile}},
                        )


class Connection:
    """One keep-alive connection; a request after the server closed it is a finding."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "localhost", parts.port or 80
        self.http = self._open()

    def _open(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        connection.auto_open = 0  # never reconnect behind our back
        connection.connect()
        return connection

    def send(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str, bytes] | str:
        """(status, content type, body), or why the connection failed."""
        try:
            self.http.request(method, target, body=body, headers=headers)
            response = self.http.getresponse()
            content = response.read()
            if response.getheader("connection", "").lower() == "close":
                self.http.close()
                self.http = self._open()
                return "the server closed the connection after answering"
            return response.status, response.getheader("content-type", ""), content
        except (http.client.HTTPException, OSError) as error:
            self.http.close()
            self.http = self._open()
            return f"the connection broke: {type(error).__name__}"


def check(caller: Caller, what: str, outcome: tuple[int, str, bytes] | str) -> None:
    caller.sent += 1
    if isinstance(outcome, str):
        caller.findings.append(Finding(what, 0, outcome))
        return
    status, content_type, content = outcome
    if status >= 500:
        caller.findings.append(Finding(what, status, content[:300].decode(errors="replace")))
    elif status >= 400:
        if content_type != "application/problem+json":
            caller.findings.append(Finding(what, status, f"answered as {content_type!r}"))
            return
        code = json.loads(content).get("code")
        if not code:
            caller.findings.append(Finding(what, status, "problem without a code"))


def fire(connection: Connection, caller: Caller, operation: Operation, bodies: Bodies) -> None:
    headers = {**caller.headers, "Accept": "application/json"}
    ids = {name: str(uuid.uuid4()) for name in operation.path_parameters}

    def target(path_ids: dict[str, str], query: str = "") -> str:
        path = operation.path
        for name, value in path_ids.items():
            path = path.replace("{" + name + "}", value)
        return path + (f"?{query}" if query else "")

    def send(what: str, path: str, body: bytes | None, content_type: str | None) -> None:
        sent = dict(headers)
        if content_type is not None:
            sent["Content-Type"] = content_type
        outcome = connection.send(operation.method, path, body, sent)
        check(caller, f"{operation.method} {operation.path} {what}", outcome)

    for name in operation.path_parameters:
        for hostile in HOSTILE_PARAMETERS:
            send(f"path {name}={hostile[:20]}", target({**ids, name: hostile}), None, None)
    for parameter in operation.query_parameters:
        for hostile in HOSTILE_PARAMETERS:
            query = f"{quote(parameter['name'])}={hostile}"
            send(f"query {parameter['name']}={hostile[:20]}", target(ids, query), None, None)
    if operation.method == "GET":
        return
    for what, body, content_type in WHOLE_BODIES:
        send(f"body {what}", target(ids), body, content_type)
    if operation.body_schema is not None:
        for what, document in bodies.variants(operation.body_schema):
            encoded = json.dumps(document).encode("utf-8", "surrogatepass")
            send(f"body {what}", target(ids), encoded, "application/json")


@pytest.fixture(scope="module")
def hostile_stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(database_url, tmp_path_factory.mktemp("hostile"))
    yield stack
    stop_stack(stack)


def callers(stack_url: str, patient: SignedIn, staff: SignedIn) -> list[Caller]:
    def signed_in(who: SignedIn) -> dict[str, str]:
        # Origin too: the browser sends it, and state-changing requests must pass its check.
        return {**who.headers, "Origin": stack_url}

    return [
        Caller("signed out", {"Origin": stack_url}),
        Caller("patient", signed_in(patient)),
        Caller("staff", signed_in(staff)),
    ]


async def test_no_hostile_input_gets_a_5xx_or_costs_the_connection(
    hostile_stack: Stack, session: AsyncSession, tmp_path: Path
) -> None:
    world = await make_world(session)
    patient = await sign_in_patient(session)
    staff = await sign_in_staff(session, *EVERY_ROLE_EVERYWHERE)
    document = httpx.get(f"{hostile_stack.url}/openapi.json").json()
    bodies = Bodies(document, world)
    every = list(operations(document))
    assert len(every) > 70  # the whole API, not a slice of it

    for caller in callers(hostile_stack.url, patient, staff):
        connection = Connection(hostile_stack.url)
        for operation in every:
            if caller.name != "signed out" and operation.path in ENDS_THE_SESSION:
                continue
            fire(connection, caller, operation, bodies)
        report = "\n".join(f"{f.status} {f.what}: {f.detail}" for f in caller.findings[:40])
        assert not caller.findings, (
            f"{caller.name}: {len(caller.findings)} of {caller.sent}\n{report}"
        )
        assert caller.sent > 1000

    for who in (patient, staff):  # nothing in the run ended their sessions
        still = httpx.get(f"{hostile_stack.url}/api/v1/session", headers=who.cookie_only)
        assert still.status_code == 200, still.text
    log = hostile_stack.server.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]


def test_the_connection_check_sees_a_closed_connection(hostile_stack: Stack) -> None:
    """Control: the harness notices when the server does close the connection."""
    connection = Connection(hostile_stack.url)
    caller = Caller("control", {})
    outcome = connection.send("GET", "/healthz", None, {"Connection": "close"})
    check(caller, "GET /healthz with Connection: close", outcome)
    assert caller.findings
    assert "closed" in caller.findings[0].detail
