"""The job queue's procrastinate app: one per process, with every task registered on it.

Its connector has no connection settings of its own: `medbook worker` opens it with a pool built
from our database URL and TLS rules (medbook.worker.run), and the API never opens it at all: a
request defers its jobs through its own session (medbook.jobs.defer).
"""

from __future__ import annotations

from procrastinate import App, PsycopgConnector

jobs = App(connector=PsycopgConnector(), import_paths=["medbook.worker.tasks"])
