"""Background jobs on a PostgreSQL queue (procrastinate): the app, the tasks and their schedule,
deferring inside a request's transaction, the worker, and what `medbook jobs` shows. ADR 0013."""
