"""Databases the suite and the benchmarks make for themselves."""

from __future__ import annotations

import asyncpg

from medbook.db import asyncpg_dsn


async def recreate_database(admin_url: str, name: str) -> None:
    """An empty database called `name` on the server of `admin_url`, dropping any old one."""
    connection = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
