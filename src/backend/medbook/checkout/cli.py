"""`medbook payments ...`: what operators run about money."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer

from medbook.checkout.service import Gateways, Reconciliation, reconcile
from medbook.db import create_engine, database_url, session_factory
from medbook.outbound import outbound_client
from medbook.payments.service import configured_gateway
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
    gateway that we have no record of. Exit 1 when something was found and not fixed, 2 when
    some records could not be checked (the gateway unreachable or too slow: they are listed)."""
    settings = get_settings()

    async def run() -> Reconciliation:
        engine = create_engine(database_url(), settings)
        outbound = outbound_client(settings)
        try:
            peers = Gateways(configured_gateway(settings, outbound), session_factory(engine))
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
    for mismatch in found.mismatches:
        state = "fixed" if mismatch.fixed else "to fix"
        typer.echo(
            f"{mismatch.subject}: ours {mismatch.ours}, gateway {mismatch.theirs}: "
            f"{mismatch.action} [{state}]"
        )
    for unchecked in found.unchecked:
        typer.echo(f"{unchecked.subject}: NOT CHECKED: {unchecked.reason}")
    fixed = ", all fixed" if found.mismatches and all(m.fixed for m in found.mismatches) else ""
    summary = f"{len(found.mismatches)} mismatch(es){fixed}"
    if found.unchecked:
        summary += (
            f"; {len(found.unchecked)} record(s) NOT CHECKED, run again when the gateway answers"
        )
    typer.echo(summary)
    if found.unchecked:
        raise typer.Exit(code=2)
    if not found.complete:
        raise typer.Exit(code=1)
