"""The worker process (`medbook worker`): the tasks it runs and when, and how it runs them.
Like app.py for the API, this is wiring at the edge: it may import every domain, and no domain
imports it (domains defer jobs through medbook.jobs, the queue's plumbing)."""
