"""``cairn secrets ...``: values blueprints read with ``get_secret``, encrypted on the manager."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cairn import errors
from cairn.cli import client, options, output, views

app = typer.Typer(
    name="secrets",
    help="Manage secrets: values for get_secret, encrypted at rest, never listed or logged.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The secret's name.")]
ValueOpt = Annotated[
    str | None,
    typer.Option(
        "-s",
        "--secret-string",
        metavar="VALUE",
        help="The value. Without it (and without --from-file), the value is read from stdin.",
        show_default=False,
    ),
]
FileOpt = Annotated[
    str | None,
    typer.Option("-f", "--from-file", metavar="FILE", help="Read the value from a file."),
]
_COLUMNS: list[views.Column] = [
    ("secret", "name"),
    ("created", "created_at"),
    ("updated", "updated_at"),
    ("created by", "created_by"),
]


def _value(given: str | None, path: str | None) -> str:
    if given is not None and path is not None:
        raise errors.UsageError("give the value with -s or -f, not both")
    if path is not None:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    if given is not None:
        return given
    if sys.stdin.isatty():
        raise errors.UsageError("no value: pass -s VALUE, -f FILE, or pipe the value on stdin")
    return sys.stdin.read()


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn secrets create db_password -s 's3cr3t'\n\n"
        "  cairn secrets create ssh_key -f ~/.ssh/id_ed25519\n\n"
        '  printf %s "$PW" | cairn secrets create db_password\n\n'
        "Needs an admin token."
    )
)
def create(name: NameArg, value: ValueOpt = None, from_file: FileOpt = None) -> None:
    """Create a secret."""
    client.connect().post("/secrets", body={"name": name, "value": _value(value, from_file)})
    output.line(f"secret {name} created")


@app.command()
def update(name: NameArg, value: ValueOpt = None, from_file: FileOpt = None) -> None:
    """Replace a secret's value."""
    client.connect().put(f"/secrets/{name}", body={"value": _value(value, from_file)})
    output.line(f"secret {name} updated")


@app.command("list")
def list_(output_format: options.OutputOpt = output.Format.table) -> None:
    """List secrets: names and dates, never values."""
    found = client.connect().get("/secrets")
    views.show(found, output_format, lambda rows: [views.records("Secrets", rows, _COLUMNS)])


@app.command()
def get(name: NameArg, output_format: options.OutputOpt = output.Format.table) -> None:
    """Show a secret with its value (admins and operators)."""
    found = client.connect().get(f"/secrets/{name}")
    keys: list[views.Column] = [*_COLUMNS[1:], ("value", "value")]
    views.show(found, output_format, lambda row: [views.fields(f"Secret {name}", row, keys)])


@app.command()
def delete(name: NameArg) -> None:
    """Delete a secret."""
    client.connect().delete(f"/secrets/{name}")
    output.line(f"secret {name} deleted")
