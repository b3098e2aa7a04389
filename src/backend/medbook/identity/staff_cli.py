"""`medbook create-admin`: the first administrator, made by the operator at the server.

Everyone after that is created through the administration API by an administrator (or a clinic
manager). The command is also the way back in should every administrator be lost.

`medbook staff unthrottle EMAIL`: lift the sign-in delays on an account from the server, for
when no second administrator can (the only administrator is the one being delayed).
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Annotated, NoReturn

import typer

from medbook import schema
from medbook.audit.service import AuditContext
from medbook.data_key import DataKey, DataKeyError
from medbook.db import create_engine, database_url, session_factory
from medbook.identity import passwords, staff
from medbook.identity import staff_repository as repository
from medbook.kernel.errors import DomainError
from medbook.kernel.permissions import Grant, Role
from medbook.settings import get_settings

# The audit trail's actor for what the operator does from the command line.
OPERATOR = AuditContext(actor_kind="system")

staff_app = typer.Typer(help="Staff accounts, from the server.", no_args_is_help=True)


def create_admin(
    email: Annotated[
        str, typer.Option("--email", prompt="Email", help="Their work email address.")
    ],
    full_name: Annotated[
        str, typer.Option("--full-name", prompt="Full name", help="As colleagues know them.")
    ],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input instead of "
            "prompting (for scripts; keeps it out of the shell history and process list).",
        ),
    ] = False,
) -> None:
    """Create an administrator of every clinic. They enrol an authenticator at first sign-in."""
    password = _read_password(password_stdin)
    problems = passwords.password_problems(password, email=email, full_name=full_name)
    if problems:
        _fail("The password " + "; ".join(problems) + ".")
    url = database_url()
    try:
        schema.ensure_migrated_sync(url)
        staff_id = asyncio.run(_create(url, email, full_name, password))
    except (DomainError, schema.SchemaNotMigratedError) as error:
        _fail(str(getattr(error, "detail", error)))
    typer.echo(f"Created administrator {staff.normalise_email(email)} (id {staff_id}).")
    typer.echo(
        "At their first sign-in they must enrol an authenticator app (TOTP) and keep the "
        "recovery codes they are shown."
    )


async def _create(url: str, email: str, full_name: str, password: str) -> uuid.UUID:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            return await staff.create_staff_member(
                session,
                email=email,
                full_name=full_name,
                password=password,
                grants=[Grant(Role.ADMINISTRATOR, None)],
                granted_by=None,
                context=OPERATOR,
            )
    finally:
        await engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _fail(message: str) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@staff_app.command()
def unthrottle(
    email: Annotated[str, typer.Argument(help="The account's email address.")],
) -> None:
    """Lift every sign-in delay on a staff account, from every address, at once (recorded)."""
    url = database_url()
    try:
        schema.ensure_migrated_sync(url)
        key = DataKey.load(get_settings().keys_dir)
        lifted = asyncio.run(_unthrottle(url, key, staff.normalise_email(email)))
    except (DomainError, schema.SchemaNotMigratedError, DataKeyError) as error:
        _fail(str(getattr(error, "detail", error)))
    typer.echo(f"Lifted the sign-in delays on {staff.normalise_email(email)} ({lifted} running).")


async def _unthrottle(url: str, key: DataKey, email: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            account = await repository.find_by_email(session, email)
            if account is None:
                raise staff.StaffNotFoundError("There is no staff account with that email.")
            return await staff.lift_throttles_of(session, key, account.id, email, OPERATOR)
    finally:
        await engine.dispose()
