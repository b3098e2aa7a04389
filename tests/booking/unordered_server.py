"""`medbook serve` with the practitioner and room locks of ADR 0010 switched off: the control
run's server. Everything else (the per-holder lock, the exclusion constraints) is as in
production, which is how booking ran before those locks existed.
"""

from __future__ import annotations

from medbook.booking import repository


def _no_locks(*_owners: repository.TimeOwner) -> list[str]:
    return []


async def _no_lock_of(*_args: object) -> None:
    return None


repository.lock_names = _no_locks
repository.lock_time_of = _no_lock_of  # type: ignore[assignment]

from medbook.cli import main  # noqa: E402

main()
