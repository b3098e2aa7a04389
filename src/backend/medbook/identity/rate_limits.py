"""Rate limits on sign-in and hold creation, with the `limits` library.

Counters live in memory per process by default; MEDBOOK_RATE_LIMIT_STORAGE=redis://... shares
them across API processes. Lockout of a staff account does not depend on this: it is counted in
the database.
"""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, Request
from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from medbook.errors import TooManyError


class RateLimitedError(TooManyError):
    code = "rate_limited"


class RateLimits:
    def __init__(self, storage_uri: str) -> None:
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        storage = storage_from_string(uri)
        assert isinstance(storage, Storage)
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, rule: str, *identifiers: str, what: str) -> None:
        """Count one attempt; refuse with 429 and a Retry-After once the rule is exceeded."""
        limit = parse(rule)
        if await self._limiter.hit(limit, *identifiers):
            return
        stats = await self._limiter.get_window_stats(limit, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        error = RateLimitedError(
            f"Too many {what}. Please wait {retry_after} seconds and try again."
        )
        error.headers = {"Retry-After": str(retry_after)}
        raise error


async def rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


AppRateLimits = Annotated[RateLimits, Depends(rate_limits)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
