"""`medbook` with the tests' tasks registered: `python -m tests.jobs.worker_main worker`."""

import tests.jobs.tasks  # noqa: F401  (registers the tasks)
from medbook.cli import main

main()
