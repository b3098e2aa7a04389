"""`python -m tests.bench race`: 500 simultaneous holds on one time, as the losers see it.

The race of tests/booking/test_lock_order.py (three overlapping groups; services of different
lengths, overlapping by practitioner and by room), fired at once on fresh connections at one API
process and at two (requests alternating), ROUNDS times; beside it the same burst of 500 holds
on 500 different times (no race: what the burst costs the machine by itself). With
BENCH_BASELINE=<commit> the same is run against that commit's code too, rounds alternating, each
version on a database of its own so PostgreSQL's deadlock count is its own.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from medbook import schema
from medbook.db import asyncpg_dsn, create_engine, session_factory
from tests.bench.baseline import Baseline
from tests.bench.data import SignedInPatient, sign_in_patients
from tests.booking.race import (
    Call,
    Outcome,
    RaceWorld,
    backends_gone,
    build_race_world,
    client_backends,
    deadlocks_so_far,
    fire,
    hold_race,
    spread_race,
    winners,
)
from tests.databases import recreate_database
from tests.live import LiveServer, start_live_server, stop_live_server

ATTEMPTS = 500
ROUNDS = int(os.environ.get("BENCH_RACE_ROUNDS", "5"))
# Every hold is its own patient's, but each patient holds once a round: the per-patient hold
# limit (30/minute by default) is not what is measured here.
SERVER_ENV = {"MEDBOOK_HOLD_RATE_LIMIT": "1000000/minute", "MEDBOOK_LOG_LEVEL": "warning"}


@dataclass(frozen=True)
class Mode:
    name: str
    attempts: int
    processes: int
    race: bool  # all on one time, or each on its own (no race: what the burst itself costs)


MODES = (
    Mode("500 on one time, 1 process", ATTEMPTS, 1, True),
    Mode("500 on one time, 2 processes", ATTEMPTS, 2, True),
    Mode("500 on 500 times, 2 processes (no race)", ATTEMPTS, 2, False),
    Mode("50 on one time, 2 processes", 50, 2, True),
    Mode("50 on 50 times, 2 processes (no race)", 50, 2, False),
)


@dataclass
class Version:
    """One version of the code under test: its database, its two API processes, its results."""

    label: str
    url: str
    env: dict[str, str]
    race: RaceWorld | None = None
    patients: list[SignedInPatient] = field(default_factory=list)
    servers: list[LiveServer] = field(default_factory=list)
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)
    wrong_rounds: int = 0  # rounds whose winners were not one per group
    deadlocks: int = 0


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def fresh_database(admin_url: str, name: str) -> str:
    await recreate_database(admin_url, name)
    url: str = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url


async def build(version: Version) -> None:
    engine = create_engine(version.url)
    try:
        async with session_factory(engine)() as session:
            version.race = await build_race_world(session)
    finally:
        await engine.dispose()
    version.patients = await sign_in_patients(version.url, ATTEMPTS)


async def clear(url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute("DELETE FROM appointments")
    finally:
        await connection.close()


async def one_round(version: Version) -> None:
    assert version.race is not None
    for mode in MODES:
        make = hold_race if mode.race else spread_race
        calls: list[Call] = make(version.race, version.patients, mode.attempts)
        await clear(version.url)
        outcomes = await fire([s.url for s in version.servers[: mode.processes]], calls)
        version.outcomes.setdefault(mode.name, []).extend(outcomes)
        groups = {call.group for call in calls}
        if winners(outcomes) != dict.fromkeys(groups, 1):
            version.wrong_rounds += 1


def timed(mode: Mode, outcomes: list[Outcome]) -> list[Outcome]:
    """The losers of a race; every hold of a burst without one."""
    return [o for o in outcomes if o.status != 201] if mode.race else outcomes


def rows(version: Version) -> list[str]:
    lines = []
    for mode in MODES:
        outcomes = version.outcomes.get(mode.name, [])
        answers = Counter((o.status, o.code) for o in outcomes)
        shown = [o.seconds * 1000 for o in timed(mode, outcomes)]
        lines.append(
            f"| {mode.name} | {version.label} | {len(shown)} | {percentile(shown, 0.5):.0f} ms "
            f"| {percentile(shown, 0.99):.0f} ms | {max(shown, default=float('nan')):.0f} ms "
            f"| {answers[(409, 'busy')]} | {sum(n for (s, _), n in answers.items() if s >= 500)} |"
        )
    return lines


def ratios(this: Version, base: Version) -> list[str]:
    lines = []
    for mode in MODES:
        mine = [o.seconds for o in timed(mode, this.outcomes.get(mode.name, []))]
        theirs = [o.seconds for o in timed(mode, base.outcomes.get(mode.name, []))]
        lines.append(
            f"- {mode.name}: p50 {percentile(mine, 0.5) / percentile(theirs, 0.5):.2f}, "
            f"p99 {percentile(mine, 0.99) / percentile(theirs, 0.99):.2f} ({this.label} / {base.label})"
        )
    return lines


def migrate(version: Version) -> None:
    """Each version's database at that version's own schema (each has a database of its own,
    so a commit from before a migration can be measured too)."""
    if not version.env:
        schema.upgrade(version.url)
        return
    subprocess.run(
        [sys.executable, "-m", "medbook", "migrate"],
        env={**os.environ, **version.env, "DATABASE_URL": version.url},
        check=True,
        capture_output=True,
    )


def run(admin_url: str, keys: Path, scratch: Path, baseline: Baseline | None) -> str:
    versions = [Version("this code", "", {})]
    if baseline is not None:
        versions.append(Version(baseline.label, "", baseline.env))
    for number, version in enumerate(versions):
        version.url = asyncio.run(fresh_database(admin_url, f"medbook_bench_race_{number}"))
        migrate(version)
        asyncio.run(build(version))
    before = {v.label: asyncio.run(deadlocks_so_far(v.url)) for v in versions}
    for round_number in range(ROUNDS):
        # Alternate which version goes first: the machine's noise falls on both alike. Only one
        # version's processes run at a time (their pools together would pass max_connections).
        for version in versions if round_number % 2 == 0 else versions[::-1]:
            own = asyncio.run(client_backends(version.url))
            env = {**SERVER_ENV, **version.env, "MEDBOOK_KEYS_DIR": str(keys)}
            try:
                for n in range(2):
                    log = scratch / f"race-{versions.index(version)}-{round_number}-{n}.log"
                    version.servers.append(start_live_server(version.url, log, **env))
                asyncio.run(one_round(version))
                theirs = asyncio.run(client_backends(version.url)) - own
            finally:
                for server in version.servers:
                    stop_live_server(server)
                version.servers.clear()
            asyncio.run(backends_gone(version.url, theirs))
        print(f"race round {round_number + 1} of {ROUNDS} done", flush=True)
    for version in versions:
        version.deadlocks = asyncio.run(deadlocks_so_far(version.url)) - before[version.label]
    lines = [
        "- hold attempts sent at once, each its own patient on its own connection; "
        f"{ROUNDS} rounds, versions alternating; latency from the start line to the answer, "
        "of the losers in a race and of every hold without one",
        "",
        "| burst | code | answers timed | p50 | p99 | max | busy | 5xx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for version in versions:
        lines += rows(version)
    lines.append("")
    lines += [
        f"- {v.label}: {v.deadlocks} deadlocks counted by PostgreSQL, "
        f"{v.wrong_rounds} rounds with other than one winner per group"
        for v in versions
    ]
    if len(versions) == 2:
        lines += ["- ratios, losers' latency (no race: every answer):", *ratios(*versions)]
    return "\n".join(lines)
