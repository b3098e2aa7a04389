"""Rate limits on sign-in and hold creation, with the `limits` library.

Counters live in memory per process by default (development, one process);
MEDBOOK_RATE_LIMIT_STORAGE=redis://host:6379 shares them between every API process, which
`medbook serve --workers N` demands. Sign-in throttling does not depend on this: it is counted
in the database (identity/throttle.py).

When the shared store cannot be reached, the limits fail open: requests go on uncounted, and a
warning (with no address, account or patient in it) says so once per outage window. What they
guard is guarded again in PostgreSQL (sign-in throttles, the live holds one client may keep),
so an outage of Redis must not take sign-in and booking down with it (ADR 0008).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Annotated

from fastapi import Depends, Request
from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from medbook.kernel.errors import TooManyError

log = logging.getLogger(__name__)

# A store that does not answer within this long counts as down: a rate limit must not hold up
# the request it guards.
STORE_TIMEOUT_SECONDS = 0.5
# After a failure the store is left alone this long (requests go uncounted) before it is tried
# again, so an outage costs one timeout per window rather than one per request.
STORE_RETRY_SECONDS = 5.0


class RateLimitedError(TooManyError):
    code = "rate_limited"


def is_per_process(storage_uri: str) -> bool:
    """Does this storage keep its counters inside each process (not shared between them)?"""
    return storage_uri.removeprefix("async+").startswith("memory://")


class RateLimits:
    def __init__(self, storage_uri: str, *, key_prefix: str = "medbook") -> None:
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        options: dict[str, float | str | bool] = {}
        if not is_per_process(storage_uri):
            options = {"wrap_exceptions": True}
        if uri.startswith(("async+redis", "async+rediss")):
            # redis-py (not the default coredis): see the commit that added it.
            options |= {
                "implementation": "redispy",
                "key_prefix": key_prefix,
                "socket_connect_timeout": STORE_TIMEOUT_SECONDS,
                "socket_timeout": STORE_TIMEOUT_SECONDS,
            }
        storage = storage_from_string(uri, **options)
        assert isinstance(storage, Storage)
        self._limiter = MovingWindowRateLimiter(storage)
        self._store_down_until = 0.0

    async def hit(self, rule: str, *identifiers: str, what: str) -> None:
        """Count one attempt; refuse with 429 and a Retry-After once the rule is exceeded.
        The first identifier names the limit (never personal); the rest say whose count it is."""
        if time.monotonic() < self._store_down_until:
            return
        limit = parse(rule)
        try:
            if await self._limiter.hit(limit, *identifiers):
                return
            stats = await self._limiter.get_window_stats(limit, *identifiers)
        except StorageError as unreachable:
            self._fail_open(identifiers[0], unreachable)
            return
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        error = RateLimitedError(
            f"Too many {what}. Please wait {retry_after} seconds and try again."
        )
        error.headers = {"Retry-After": str(retry_after)}
        raise error

    def _fail_open(self, limit_name: str, error: StorageError) -> None:
        self._store_down_until = time.monotonic() + STORE_RETRY_SECONDS
        # The kind of failure only: the error's text could carry the store's address and
        # password, and the identifiers are personal.
        log.warning(
            "rate-limit store unreachable (%s): %s and every other limit go uncounted for %.0f s",
            type(error.storage_error).__name__,
            limit_name,
            STORE_RETRY_SECONDS,
        )


async def rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


AppRateLimits = Annotated[RateLimits, Depends(rate_limits)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
