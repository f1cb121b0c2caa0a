"""``cairn tokens ...``: API tokens with a role (admin only)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cairn.cli import client, options, output, views
from cairn.model import runtime

app = typer.Typer(
    name="tokens",
    help="Manage API tokens. Roles: viewer reads; operator also runs workflows and manages "
    "blueprints and deployments; admin may do everything. Needs an admin token.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_COLUMNS: list[views.Column] = [
    ("token", "id"),
    ("role", "role"),
    ("description", "description"),
    ("created", "created_at"),
    ("revoked", "revoked"),
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn tokens create --role viewer --description dashboards\n\n"
        "  CAIRN_TOKEN=$(cairn tokens create --role operator) cairn deployments list\n\n"
        "Prints the token alone on stdout; it is shown this once."
    )
)
def create(
    role: Annotated[runtime.Role, typer.Option("--role", help="What the token may do.")],
    description: Annotated[str, typer.Option("--description", help="What the token is for.")] = "",
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Create a token."""
    created = client.connect().post(
        "/tokens", body={"role": role.value, "description": description}
    )
    if output_format is output.Format.table:
        output.line(created["token"])
        output.line(
            f"token {created['id']} ({created['role']}) created; it is shown only this once",
            stream=sys.stderr,
        )
        return
    views.dump(created, output_format)


@app.command("list")
def list_(output_format: options.OutputOpt = output.Format.table) -> None:
    """List tokens (never the tokens themselves)."""
    found = client.connect().get("/tokens")
    views.show(found, output_format, lambda rows: [views.records("Tokens", rows, _COLUMNS)])


@app.command()
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (see list).")],
) -> None:
    """Revoke a token: it stops working at once."""
    client.connect().delete(f"/tokens/{token_id}")
    output.line(f"token {token_id} revoked")
