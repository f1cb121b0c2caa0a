"""``cairn node-instances ...``: a deployment's node instances, their state and properties."""

from __future__ import annotations

from typing import Annotated

import typer

from cairn.cli import client, options, output, views

app = typer.Typer(
    name="node-instances",
    help="Show node instances: lifecycle state, runtime properties, relationships.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_COLUMNS: list[views.Column] = [
    ("node instance", "id"),
    ("node", "node_id"),
    ("state", "state"),
    ("host", "host_id"),
    ("deployment", "deployment_id"),
]


@app.command("list")
def list_(
    deployment_id: options.DeploymentOpt,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """List a deployment's node instances."""
    found = client.connect().get("/node-instances", params={"deployment_id": deployment_id})
    views.show(found, output_format, lambda rows: [views.records("Node instances", rows, _COLUMNS)])


@app.command()
def get(
    instance_id: Annotated[str, typer.Argument(metavar="ID", help="The node instance's id.")],
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Show a node instance with its runtime properties."""
    found = client.connect().get(f"/node-instances/{instance_id}")
    keys: list[views.Column] = [
        *_COLUMNS[1:],
        (
            "relationships",
            lambda i: ", ".join(
                f"{r.get('type')} -> {r.get('target_id')}" for r in i["relationships"]
            ),
        ),
        ("version", "version"),
    ]
    views.show(
        found,
        output_format,
        lambda row: [
            views.fields(f"Node instance {row['id']}", row, keys),
            views.values("Runtime properties", row.get("runtime_properties") or {}),
        ],
    )
