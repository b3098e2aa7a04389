"""Proof that a periodic job runs once per period across the deployment: two `medbook serve`
processes and two `medbook worker` processes on one database for N minutes, then the job table
says how many times reconciliation ran in each period.

    python -m tests.bench.periodic                          # 10 minutes, the 300 s default
    python -m tests.bench.periodic --minutes 3 --period 5   # a short run that still proves it

Runs on a database of its own (medbook_periodic on the embedded server under .data/, or
PERIODIC_DATABASE_URL, whose public schema it wipes), with throwaway keys. Halfway through, one
worker is killed (SIGKILL) and started again: a worker that dies must not cost a period, nor
make one run twice. Exits 1 when any period ran other than once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from medbook import schema
from medbook.data_key import generate_data_key
from medbook.db import asyncpg_dsn, start_embedded_server
from medbook.identity.keys import generate_key_set, rp_keys_path
from medbook.settings import REPO_ROOT
from tests.databases import recreate_database
from tests.live import start_live_server, start_worker, stop_live_server, stop_worker

DATABASE = "medbook_periodic"
COUNTS = """
SELECT (args->>'timestamp')::bigint AS period, count(*) AS jobs,
       array_agg(status::text ORDER BY id) AS statuses
  FROM procrastinate_jobs WHERE task_name = 'payments.reconcile'
 GROUP BY 1 ORDER BY 1
"""


async def prepare_database() -> str:
    given = os.environ.get("PERIODIC_DATABASE_URL")
    if given:
        connection = await asyncpg.connect(asyncpg_dsn(given))
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        await connection.close()
        return given
    server = start_embedded_server(REPO_ROOT / ".data" / "periodic-postgres")
    await recreate_database(server.get_uri("postgres"), DATABASE)
    url: str = server.get_uri(DATABASE)
    return url


async def count(url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return list(await connection.fetch(COUNTS))
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--period", type=int, default=300, help="seconds (divides a minute or hour)"
    )
    options = parser.parse_args()

    url = asyncio.run(prepare_database())
    schema.upgrade(url)
    scratch = Path(tempfile.mkdtemp(prefix="medbook-periodic-"))
    keys = scratch / "keys"
    generate_data_key(keys)
    generate_key_set(rp_keys_path(keys), rotate=False)
    env = {
        "MEDBOOK_KEYS_DIR": str(keys),
        "MEDBOOK_PAYMENT_RECONCILE_SECONDS": str(options.period),
        "MEDBOOK_HOLD_EXPIRY_WORKER": "true",
        # A killed worker's jobs are recovered within seconds.
        "MEDBOOK_JOB_HEARTBEAT_SECONDS": "2",
        "MEDBOOK_JOB_STALLED_AFTER_SECONDS": "10",
        "MEDBOOK_JOB_STALLED_CHECK_SECONDS": "10",
    }
    apis = [start_live_server(url, scratch / f"api-{n}.log", **env) for n in (1, 2)]
    workers = [start_worker(url, scratch / f"worker-{n}.log", **env) for n in (1, 2)]
    began = time.time()
    print(
        f"2 API processes, 2 workers, reconciliation every {options.period} s, for "
        f"{options.minutes:g} min; logs in {scratch}",
        flush=True,
    )
    ends = began + options.minutes * 60
    restarted = False
    try:
        while (now := time.time()) < ends:
            if not restarted and now >= began + options.minutes * 30:
                os.kill(workers[0].process.pid, signal.SIGKILL)
                workers[0].process.wait(10)
                print(f"{now - began:6.0f} s: worker 1 killed (SIGKILL), started again", flush=True)
                workers[0] = start_worker(url, scratch / "worker-1-again.log", **env)
                restarted = True
            time.sleep(min(60.0, ends - now))
            rows = asyncio.run(count(url))
            print(f"{time.time() - began:6.0f} s: {len(rows)} periods so far", flush=True)
    finally:
        finished = time.time()
        for worker in workers:
            stop_worker(worker)
        for api in apis:
            stop_live_server(api)

    rows = asyncio.run(count(url))
    # Periods that began while the whole deployment was up (the first may predate it: a worker
    # starting defers the period it is in).
    inside = [row for row in rows if began <= row["period"] <= finished - options.period]
    twice = [row for row in inside if row["jobs"] != 1]
    expected = int((finished - options.period - began) // options.period) + 1
    api_lines = sum(
        "reconcil" in (scratch / f"api-{n}.log").read_text(errors="replace") for n in (1, 2)
    )
    print(
        f"\nperiods while all ran: {len(inside)} (about {expected} expected); "
        f"run once: {sum(1 for row in inside if row['jobs'] == 1)}; "
        f"run more than once: {len(twice)}; "
        f"succeeded: {sum(1 for row in inside if row['statuses'] == ['succeeded'])}; "
        f"API processes that reconciled: {api_lines}"
    )
    for row in twice:
        print(f"  period {row['period']}: {row['jobs']} jobs {row['statuses']}")
    missing = expected - len(inside)
    sys.exit(1 if twice or missing > 1 or api_lines else 0)


if __name__ == "__main__":
    main()
