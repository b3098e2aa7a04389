"""Reconciliation as a periodic job: what the webhook and the return page missed, put right."""

from __future__ import annotations

import logging
from datetime import timedelta

from medbook.checkout.service import Gateways, reconcile
from medbook.settings import Settings

log = logging.getLogger(__name__)


class ReconciliationIncompleteError(RuntimeError):
    """Some records could not be checked (the gateway out of reach): the job is retried."""


async def reconcile_payments(peers: Gateways, settings: Settings) -> None:
    """Fix what is open too long, once. The queue runs it once per payment_reconcile_seconds
    across all workers; even two at once would be safe: each record is taken under its row
    lock and every gateway call is idempotent. Raises when records were left unchecked, so the
    job is retried with backoff and, past its retries, shown as failed by `medbook jobs`."""
    done = await reconcile(
        peers,
        fix=True,
        settled_after=timedelta(seconds=settings.payment_settle_after_seconds),
        abandon_after=timedelta(minutes=settings.payment_abandon_after_minutes),
    )
    for found in done.mismatches:
        log.info(
            "reconciled %s: ours %s, gateway %s: %s",
            found.subject,
            found.ours,
            found.theirs,
            found.action,
        )
    if done.unchecked:
        # Ids and reasons only (each was logged as it happened); the retry tries them again.
        log.warning(
            "payment reconciliation: %d record(s) not checked, tried again: %s",
            len(done.unchecked),
            "; ".join(f"{u.subject} ({u.reason})" for u in done.unchecked[:20]),
        )
        raise ReconciliationIncompleteError(f"{len(done.unchecked)} record(s) not checked")
