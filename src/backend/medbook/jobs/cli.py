"""`medbook jobs`: what the queue holds, and a failed job queued again."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from medbook.db import create_engine, database_url, session_factory, transaction
from medbook.jobs import repository
from medbook.schema import ensure_migrated_sync
from medbook.settings import get_settings

jobs_app = typer.Typer(
    help="The job queue: counts per task and status, recent failures; retry a failed job.",
    no_args_is_help=False,
)

COLUMNS = ("queued", "retrying", "running", "dead", "failed", "succeeded", "cancelled")


@jobs_app.callback(invoke_without_command=True)
def show(
    context: typer.Context,
    failures: Annotated[
        int, typer.Option(min=0, help="How many of the most recent failed jobs to list.")
    ] = 20,
) -> None:
    """Jobs per task and status (dead: running on a worker that stopped answering), the
    workers, and the most recent failed jobs (id, task, attempts, when), never their arguments."""
    if context.invoked_subcommand is not None:
        return
    url = database_url()
    ensure_migrated_sync(url)
    silent = get_settings().job_stalled_after_seconds

    async def read() -> tuple[
        list[repository.TaskCounts], repository.Workers, list[repository.FailedJob]
    ]:
        engine = create_engine(url)
        try:
            async with transaction(session_factory(engine)) as session:
                return (
                    await repository.counts(session, silent),
                    await repository.workers(session, silent),
                    await repository.recent_failures(session, failures),
                )
        finally:
            await engine.dispose()

    counts, workers, failed = asyncio.run(read())
    width = max([len("task"), *(len(c.task) for c in counts)])
    typer.echo(f"{'task':<{width}}  " + "  ".join(f"{name:>9}" for name in COLUMNS))
    for row in counts:
        values = (getattr(row, name) for name in COLUMNS)
        typer.echo(f"{row.task:<{width}}  " + "  ".join(f"{value:>9}" for value in values))
    if not counts:
        typer.echo("(no jobs)")
    last = workers.last_heartbeat.isoformat(timespec="seconds") if workers.last_heartbeat else "-"
    typer.echo(f"\nworkers: {workers.alive} alive, {workers.silent} silent (last heartbeat {last})")
    if failed:
        typer.echo("\nrecent failures (`medbook jobs retry ID` queues one again):")
        typer.echo(f"{'id':>10}  {'attempts':>8}  {'failed at':<25}  task")
        for job in failed:
            when = job.failed_at.isoformat(timespec="seconds") if job.failed_at else "-"
            typer.echo(f"{job.id:>10}  {job.attempts:>8}  {when:<25}  {job.task}")


@jobs_app.command()
def retry(job_id: Annotated[int, typer.Argument(help="The failed job's id.")]) -> None:
    """Queue a failed job again; it runs at once, for one more attempt."""
    url = database_url()
    ensure_migrated_sync(url)

    async def run() -> None:
        engine = create_engine(url)
        try:
            async with transaction(session_factory(engine)) as session:
                await repository.retry_failed(session, job_id)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except repository.RetryRefusedError as refused:
        typer.secho(str(refused), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"job {job_id} queued again")
