"""`medbook keys ...`: the operator's commands for our key material: the Singpass
relying-party key set and the data key that encrypts NRICs and TOTP secrets at rest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medbook.data_key import DATA_KEY_FILE, generate_data_key
from medbook.identity.keys import KeySetError, generate_key_set, rp_keys_path
from medbook.settings import get_settings

keys_app = typer.Typer(
    help="The Singpass relying-party keys (signing and ID-token decryption), published at "
    "/.well-known/jwks.json.",
    no_args_is_help=True,
    add_completion=False,
)


@keys_app.callback()
def keys() -> None:
    """Manage the Singpass relying-party key set."""
    # A callback keeps `keys` a command group even with one command, so it reads
    # `medbook keys generate` however it is mounted.


@keys_app.command("generate")
def generate(
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate",
            help="Add a new signing and encryption key; old keys stay published and can still "
            "decrypt. The new signing key signs from now on.",
        ),
    ] = False,
    if_missing: Annotated[
        bool,
        typer.Option("--if-missing", help="Do nothing when a key set already exists."),
    ] = False,
    keep: Annotated[
        int | None,
        typer.Option(
            "--keep",
            min=1,
            help="With --rotate: retire all but the newest N keys of each kind. Wait until "
            "Singpass has refreshed our JWKS (its cache) before retiring a key.",
        ),
    ] = None,
    keys_dir: Annotated[
        Path | None,
        typer.Option("--keys-dir", help="Folder of the key files (default: MEDBOOK_KEYS_DIR)."),
    ] = None,
) -> None:
    """Create the key files in <keys-dir> (mode 0600), or rotate them.

    rp-keys.json: the Singpass key set. data-key.json: the data key (rotation adds a new key
    for new values; older values stay readable with the old one).
    """
    if keep is not None and not rotate:
        raise typer.BadParameter("--keep only applies together with --rotate", param_hint="--keep")
    directory = keys_dir or get_settings().keys_dir
    if generate_data_key(directory, rotate=rotate):
        typer.echo(f"data key {'rotated' if rotate else 'created'} at {directory / DATA_KEY_FILE}")
    path = rp_keys_path(directory)
    try:
        change = generate_key_set(path, rotate=rotate, if_missing=if_missing, keep=keep)
    except KeySetError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if change.action == "unchanged":
        typer.echo(f"key set already present at {path}: left unchanged")
        return
    typer.echo(f"key set {change.action} at {path}: added {', '.join(change.added)}")
    if change.retired:
        typer.echo(f"retired {', '.join(change.retired)}")
