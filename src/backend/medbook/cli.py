"""The `medbook` command: what operators run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import text

from medbook import schema
from medbook.checkout.cli import payments_app
from medbook.data_key import DataKey, DataKeyError
from medbook.db import create_engine, database_url, session_factory
from medbook.identity.cli import keys_app
from medbook.identity.keys import KeySetError, RelyingPartyKeys, rp_keys_path
from medbook.identity.rate_limits import is_per_process
from medbook.identity.staff_cli import create_admin, staff_app
from medbook.jobs.cli import jobs_app
from medbook.logs import configure_logging, logging_config
from medbook.settings import REPO_ROOT, Settings, get_settings

WORKER_HEALTHCHECK_SECONDS = 30

app = typer.Typer(help="Medical Inc. booking platform.", no_args_is_help=True, add_completion=False)
app.add_typer(keys_app, name="keys")
app.add_typer(payments_app, name="payments")
app.add_typer(staff_app, name="staff")
app.add_typer(jobs_app, name="jobs")
app.command("create-admin")(create_admin)


def _database() -> str:
    return database_url()


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (to the newest by default)."""
    url = _database()
    schema.upgrade(url, revision)
    typer.echo(f"database schema at {asyncio.run(schema.current_revision(url))}")


@app.command("seed-demo")
def seed_demo() -> None:
    """Load the three demo clinics, practitioners, services, hours and public holidays. Idempotent."""
    from medbook.clinics.demo import seed_demo as seed

    url = _database()
    schema.ensure_migrated_sync(url)

    async def run() -> dict[str, int]:
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session, session.begin():
                today = (await session.execute(text("SELECT current_date"))).scalar_one()
                return await seed(session, today)
        finally:
            await engine.dispose()

    created = asyncio.run(run())
    typer.echo("seeded: " + ", ".join(f"{name} {count}" for name, count in created.items()))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Certificate chain (PEM): serve HTTPS, TLS 1.3 only. Needs --tls-key.",
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Private key (PEM) of --tls-cert."),
    ] = None,
    per_process_rate_limits: Annotated[
        bool,
        typer.Option(
            "--per-process-rate-limits",
            help="Let --workers N run with per-process (memory://) rate-limit counters: each "
            "worker then allows the full limit on its own.",
        ),
    ] = False,
) -> None:
    """Serve the API (and, later, the web app) with uvicorn; HTTPS with --tls-cert/--tls-key."""
    import uvicorn

    from medbook.tls import ServerContextFactory, server_context

    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter(
            "give both --tls-cert and --tls-key for HTTPS, or neither for plain HTTP",
            param_hint="'--tls-cert' / '--tls-key'",
        )
    context_factory = None
    if tls_cert is not None and tls_key is not None:
        context_factory = ServerContextFactory(tls_cert.resolve(), tls_key.resolve())
        # Load them once here, so a bad pair is a clear message rather than a worker traceback.
        try:
            server_context(context_factory.cert, context_factory.key)
        except OSError as error:  # ssl.SSLError included: a key that does not fit, say
            typer.secho(
                f"medbook cannot start: cannot use {tls_cert} / {tls_key}: {error}",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(code=1) from None

    settings = get_settings()
    if workers > 1 and is_per_process(settings.rate_limit_storage) and not per_process_rate_limits:
        typer.secho(
            f"medbook cannot start: --workers {workers} with MEDBOOK_RATE_LIMIT_STORAGE="
            f"{settings.rate_limit_storage} gives every worker its own rate-limit counters, so "
            f"a client gets {workers} times each limit (sign-in attempts, holds), and right "
            "after one worker answers 429 another accepts. Set MEDBOOK_RATE_LIMIT_STORAGE="
            "redis://host:6379 to share them, or pass --per-process-rate-limits to accept that.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=1)
    _refuse_development_payment_keys(settings)
    url = _database()
    try:
        schema.ensure_migrated_sync(url)
        DataKey.load(settings.keys_dir)
        RelyingPartyKeys.load(rp_keys_path(settings.keys_dir))
    except (schema.SchemaNotMigratedError, DataKeyError, KeySetError) as error:
        typer.secho(f"medbook cannot start: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    # Worker processes (and anything they spawn) use the same server this process resolved.
    os.environ["DATABASE_URL"] = url
    # uvicorn re-raises SIGTERM after its graceful shutdown; with Python's default handler that
    # kills the process before exit hooks run, leaving the embedded PostgreSQL running.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "medbook.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        # How long a worker may take to answer the supervisor's ping (uvicorn's default, 5 s,
        # is less than a worker's start-up on a busy 2-core machine: it was killed and
        # restarted for ever, never serving).
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        log_level=settings.log_level,
        # Ours, in every worker process too: uvicorn's access log would write query strings.
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,
        # The client's address keys sign-in throttles and rate limits: X-Forwarded-For is
        # believed only from the load balancers named here (none by default), else anyone
        # could escape a throttle by making up a new address each time.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        # A subscription message is a few hundred bytes: refuse megabytes before parsing them.
        ws_max_size=65536,
        # Our context rather than uvicorn's: it sets the TLS 1.3 floor. None: plain HTTP.
        ssl_context_factory=context_factory,
    )


def _refuse_development_payment_keys(settings: Settings) -> None:
    if settings.payment_dev_defaults_in_use():
        typer.secho(
            "medbook cannot start: MEDBOOK_PAYMENT_API_BASE is not localstripe, yet the Stripe "
            "secret key or webhook secret is the development placeholder. Set "
            "MEDBOOK_STRIPE_SECRET_KEY and MEDBOOK_STRIPE_WEBHOOK_SECRET.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=1)


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs run at once (default MEDBOOK_WORKER_CONCURRENCY)."),
    ] = None,
    hold_expiry: Annotated[
        bool | None,
        typer.Option(
            "--hold-expiry/--no-hold-expiry",
            help="Take part in announcing hold expiries, one worker of the deployment at a "
            "time (default MEDBOOK_HOLD_EXPIRY_WORKER).",
        ),
    ] = None,
    queue: Annotated[
        list[str] | None,
        typer.Option(help="Run only this queue's jobs (repeatable; default: every queue)."),
    ] = None,
) -> None:
    """Run background jobs from the PostgreSQL queue: periodic reconciliation and pruning,
    retries, and the hold-expiry announcer. Run one or more beside the API, on any machines."""
    from medbook.worker.run import run_worker

    settings = get_settings()
    _refuse_development_payment_keys(settings)
    url = _database()
    try:
        schema.ensure_migrated_sync(url)
    except schema.SchemaNotMigratedError as error:
        typer.secho(f"medbook cannot start: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    # Until procrastinate's own handlers take over (a graceful stop), and after: exit hooks run,
    # so the embedded PostgreSQL this process joined is let go.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    asyncio.run(
        run_worker(
            settings,
            url,
            concurrency=concurrency or settings.worker_concurrency,
            hold_expiry=settings.hold_expiry_worker if hold_expiry is None else hold_expiry,
            queues=queue,
        )
    )


@app.command("export-openapi")
def export_openapi(
    output: Annotated[Path, typer.Option(help="Where to write it.")] = REPO_ROOT
    / "docs"
    / "api"
    / "openapi.json",
) -> None:
    """Write the OpenAPI document (docs/api/openapi.json), no database needed."""
    from medbook.openapi import openapi_json

    output.write_text(openapi_json())
    typer.echo(f"wrote {output}")


@app.command("make-migration")
def make_migration(
    message: Annotated[str, typer.Argument(help="What the migration does.")],
) -> None:
    """Autogenerate a migration from the models against the current database."""
    schema.autogenerate(_database(), message)


@app.command("database-url")
def print_database_url() -> None:
    """Print the database URL in use (starting the embedded server if it is the default)."""
    typer.echo(_database())


@app.command()
def check() -> None:
    """Exit 0 when the database answers and is migrated; else say why and exit 1."""
    try:
        schema.ensure_migrated_sync(_database())
    except Exception as error:
        typer.secho(f"not ready: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    typer.echo(json.dumps({"status": "ready"}))


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    app()
