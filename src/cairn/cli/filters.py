"""``cairn filters ...``: saved filter rules that pick deployments or sites."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from cairn.cli import client, options, output, views

app = typer.Typer(
    name="filters",
    help="Save filter rules under a name, to pick deployments or sites later with "
    "--filter-id (in 'cairn deployments list', 'cairn sites list' and 'cairn groups').",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The filter's name.")]
RULES_HELP = (
    "A rule; repeatable, all must hold. Labels: KEY=VALUE, KEY=V1,V2, KEY!=VALUE, "
    "'KEY is null', 'KEY is not null'. Attributes (deployments: id, blueprint, site, status, "
    "drifted; sites: name, status): NAME=VALUE, NAME!=VALUE, 'NAME starts-with|ends-with|"
    "contains VALUE'. 'label:site=x' is a label named like an attribute."
)
FilterOpt = Annotated[
    list[str] | None,
    typer.Option("--filter", "-f", metavar="RULE", help=RULES_HELP, show_default=False),
]
FilterIdOpt = Annotated[
    str | None,
    typer.Option(
        "--filter-id", metavar="NAME", help="A saved filter ('cairn filters list').",
        show_default=False,
    ),
]  # fmt: skip


def rules_text(row: Mapping[str, Any]) -> str:
    return "; ".join(str(rule.get("text")) for rule in row.get("rules") or [])


_COLUMNS: list[views.Column] = [
    ("filter", "name"),
    ("picks", "kind"),
    ("rules", rules_text),
    ("description", "description"),
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn filters create eu-prod --filter env=prod --filter 'site ends-with -eu'\n\n"
        "  cairn filters create eu-sites --sites --filter region=eu\n\n"
        "  cairn deployments list --filter-id eu-prod\n\n"
        "Every bad rule is listed (exit 2) and nothing is saved."
    )
)
def create(
    name: NameArg,
    *,
    rule: FilterOpt = None,
    sites: Annotated[
        bool, typer.Option("--sites", help="The rules pick sites (default: deployments).")
    ] = False,
    description: Annotated[
        str | None, typer.Option("--description", metavar="TEXT", show_default=False)
    ] = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Save filter rules under a name."""
    body = {
        "name": name,
        "kind": "sites" if sites else "deployments",
        "rules": list(rule or ()),
        "description": description,
    }
    created = client.connect().post("/filters", body=body)
    if output_format is output.Format.table:
        output.line(f"filter {name} saved: {rules_text(created)}")
        return
    views.dump(created, output_format)


@app.command("list")
def list_(
    kind: Annotated[
        str | None,
        typer.Option("--kind", metavar="KIND", help="deployments or sites.", show_default=False),
    ] = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """List saved filters."""
    found = client.connect().get("/filters", params={"kind": kind})
    views.show(found, output_format, lambda rows: [views.records("Filters", rows, _COLUMNS)])


@app.command()
def get(name: NameArg, output_format: options.OutputOpt = output.Format.table) -> None:
    """Show a saved filter."""
    found = client.connect().get(f"/filters/{name}")
    keys: list[views.Column] = [
        *_COLUMNS[1:],
        ("created", "created_at"),
        ("created by", "created_by"),
    ]
    views.show(found, output_format, lambda row: [views.fields(f"Filter {name}", row, keys)])


@app.command()
def delete(name: NameArg) -> None:
    """Delete a saved filter (groups made with it keep their members)."""
    client.connect().delete(f"/filters/{name}")
    output.line(f"filter {name} deleted")
