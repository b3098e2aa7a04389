"""Reconciliation in the background: what the webhook and the return page missed, put right."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from medbook.checkout.service import Gateways, reconcile
from medbook.settings import Settings

log = logging.getLogger(__name__)


async def reconcile_payments(peers: Gateways, settings: Settings) -> None:
    """Every payment_reconcile_seconds, fix what is open too long. Every process may run it:
    each record is taken under its row lock and every gateway call is idempotent."""
    while True:
        # Spread the processes out, so they rarely look at the same records at once.
        await asyncio.sleep(settings.payment_reconcile_seconds * random.uniform(0.8, 1.2))  # noqa: S311
        try:
            done = await reconcile(
                peers,
                fix=True,
                settled_after=timedelta(seconds=settings.payment_settle_after_seconds),
                abandon_after=timedelta(minutes=settings.payment_abandon_after_minutes),
            )
        except Exception:
            log.warning("payment reconciliation failed; will try again", exc_info=True)
            continue
        for found in done.mismatches:
            log.info(
                "reconciled %s: ours %s, gateway %s: %s",
                found.subject,
                found.ours,
                found.theirs,
                found.action,
            )
        if done.unchecked:
            # Ids and reasons only (each was logged as it happened); the next round tries again.
            log.warning(
                "payment reconciliation: %d record(s) not checked, tried again next round: %s",
                len(done.unchecked),
                "; ".join(f"{u.subject} ({u.reason})" for u in done.unchecked[:20]),
            )
