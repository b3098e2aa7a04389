"""`medbook payments ...`: what operators run about money."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer

from medbook.checkout.service import Gateways, Mismatch, reconcile
from medbook.db import create_engine, database_url, session_factory
from medbook.outbound import outbound_client
from medbook.settings import get_settings

payments_app = typer.Typer(help="Payments: reconcile our records with the gateway.")


@payments_app.command("reconcile")
def reconcile_command(
    fix: Annotated[
        bool, typer.Option("--fix", help="Put each mismatch right (default: only list them).")
    ] = False,
    settled_after: Annotated[
        int,
        typer.Option(help="Leave alone what changed less than this many seconds ago."),
    ] = 0,
    refunds_since_days: Annotated[
        int | None,
        typer.Option(
            help="Also compare the refunds of payments made in the last DAYS with the gateway's "
            "(finds refunds made in its dashboard; asks the gateway once per payment).",
            min=1,
        ),
    ] = None,
) -> None:
    """List (and with --fix, mend) where our payments and refunds differ from the gateway's:
    payments taken but not recorded, paid bookings left unconfirmed, refunds not yet made,
    unpaid payments long abandoned, and (with --refunds-since-days) refunds made at the
    gateway that we have no record of. Exit 1 when something was found and not fixed."""
    from medbook.app import payment_gateway

    settings = get_settings()

    async def run() -> list[Mismatch]:
        engine = create_engine(database_url(), settings)
        outbound = outbound_client(settings)
        try:
            peers = Gateways(payment_gateway(settings, outbound), session_factory(engine))
            return await reconcile(
                peers,
                fix=fix,
                settled_after=timedelta(seconds=settled_after),
                abandon_after=timedelta(minutes=settings.payment_abandon_after_minutes),
                refunds_since=(
                    timedelta(days=refunds_since_days) if refunds_since_days is not None else None
                ),
            )
        finally:
            await outbound.aclose()
            await engine.dispose()

    found = asyncio.run(run())
    for mismatch in found:
        state = "fixed" if mismatch.fixed else "to fix"
        typer.echo(
            f"{mismatch.subject}: ours {mismatch.ours}, gateway {mismatch.theirs}: "
            f"{mismatch.action} [{state}]"
        )
    typer.echo(f"{len(found)} mismatch(es){', all fixed' if fix and found else ''}")
    if found and not fix:
        raise typer.Exit(code=1)
