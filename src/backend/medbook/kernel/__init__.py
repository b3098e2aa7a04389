"""What every domain may import: the actor and its permissions, framework-free domain errors,
appointment statuses, and id and time types. Pure: no I/O, no HTTP, no other medbook package."""
