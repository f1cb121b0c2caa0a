"""``cairn profiles ...``: named managers (URL and token) to talk to."""

from __future__ import annotations

from typing import Annotated

import typer

from cairn.cli import options, output, views
from cairn.services import profiles

app = typer.Typer(
    name="profiles",
    help="Save managers under a name and pick the one the CLI talks to. "
    "--manager/CAIRN_MANAGER and --token/CAIRN_TOKEN still win over the current profile.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The profile's name.")]


@app.command("set")
def set_(
    name: NameArg,
    manager: Annotated[
        str | None,
        typer.Option("--manager", metavar="URL", help=f"default {profiles.DEFAULT_MANAGER}"),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", metavar="TOKEN", help="Saved with mode 0600.")
    ] = None,
) -> None:
    """Create or change a profile (the first one becomes current)."""
    saved = profiles.set_(name, manager=manager, token=token)
    current = profiles.load().current
    note = " (current)" if current == name else f"; 'cairn profiles use {name}' to use it"
    output.line(f"profile {name}: {saved.manager}{note}")


@app.command()
def use(name: NameArg) -> None:
    """Make a profile the current one."""
    chosen = profiles.use(name)
    output.line(f"using profile {name}: {chosen.manager}")


@app.command("list")
def list_(output_format: options.OutputOpt = output.Format.table) -> None:
    """List profiles (tokens are not shown)."""
    found = profiles.load()
    rows = [
        {
            "name": p.name,
            "manager": p.manager,
            "token": "saved" if p.token else None,
            "current": p.name == found.current,
        }
        for p in sorted(found.profiles.values(), key=lambda p: p.name)
    ]
    columns: list[views.Column] = [
        ("profile", "name"),
        ("manager", "manager"),
        ("token", "token"),
        ("current", lambda r: "*" if r["current"] else ""),
    ]
    views.show(rows, output_format, lambda data: [views.records("Profiles", data, columns)])


@app.command()
def delete(name: NameArg) -> None:
    """Forget a profile."""
    profiles.delete(name)
    output.line(f"profile {name} deleted")
