"""``cairn groups ...``: sets of deployments, chosen by id or filter, or created per site."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cairn.cli import client, filters, options, output, views
from cairn.services import site_groups

app = typer.Typer(
    name="groups",
    help="Manage groups: sets of deployments chosen by id or by filter rules (a filter adds "
    "what matches at that moment), or created one per site from a blueprint. Rollouts run "
    "a workflow across a group.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

GroupArg = Annotated[str, typer.Argument(metavar="GROUP", help="The group's id.")]
DeploymentsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--deployments", "-d", metavar="DEP",
        help="Deployments by id; repeatable, or comma-separated.", show_default=False,
    ),
]  # fmt: skip


def _ids(given: list[str] | None) -> list[str]:
    return [part.strip() for item in given or () for part in item.split(",") if part.strip()]


_COLUMNS: list[views.Column] = [
    ("group", "id"),
    ("members", lambda row: str(row.get("members", 0))),
    ("description", "description"),
    ("created", "created_at"),
]
_MEMBERS: list[views.Column] = [
    ("deployment", "deployment_id"),
    ("site", "site"),
    ("status", "status"),
    ("blueprint", "blueprint_id"),
    ("labels", views.labels),
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn groups create prod --filter env=prod --filter 'site ends-with -eu'\n\n"
        "  cairn groups create canary -d web-1,web-2 --description 'first to update'\n\n"
        "  cairn groups create shops -b shop-v1 --sites-from sites.csv -i stage=prod\n\n"
        "  cairn groups create eu-shops -b shop-v1 --site-filter region=eu\n\n"
        "With -b, one deployment per site is created (id GROUP-SITE unless the row names "
        "one). A sites file is YAML (a list of rows: site, deployment_id, inputs, labels) or "
        "CSV (columns site, deployment_id, input.NAME, label.KEY with values split on ';'). "
        "Every row is checked first: any bad row and nothing is created (exit 1)."
    )
)
def create(
    group_id: GroupArg,
    *,
    deployments: DeploymentsOpt = None,
    rule: filters.FilterOpt = None,
    filter_id: filters.FilterIdOpt = None,
    blueprint_id: Annotated[
        str | None,
        typer.Option(
            "-b",
            "--blueprint-id",
            metavar="BLUEPRINT",
            help="Create a deployment of this blueprint per site (with --sites-from or "
            "--site-filter).",
            show_default=False,
        ),
    ] = None,
    sites_from: Annotated[
        str | None,
        typer.Option(
            "--sites-from",
            metavar="FILE",
            help="A YAML or CSV file with a row per site.",
            show_default=False,
        ),
    ] = None,
    site_filter: Annotated[
        list[str] | None,
        typer.Option(
            "--site-filter",
            metavar="RULE",
            help="A deployment per site these rules match (region=eu, name starts-with par, "
            "status=online). Repeatable.",
            show_default=False,
        ),
    ] = None,
    site_filter_id: Annotated[
        str | None,
        typer.Option(
            "--site-filter-id", metavar="NAME", help="A saved filter of sites.", show_default=False
        ),
    ] = None,
    inputs: options.InputsOpt = None,
    description: Annotated[
        str | None, typer.Option("--description", metavar="TEXT", show_default=False)
    ] = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Create a group of deployments (existing ones, or one new deployment per site)."""
    body: dict[str, Any] = {
        "id": group_id,
        "description": description,
        "deployment_ids": _ids(deployments),
        "filter": list(rule or ()),
        "filter_id": filter_id,
        "blueprint_id": blueprint_id,
        "site_filter": list(site_filter or ()),
        "site_filter_id": site_filter_id,
        "inputs": options.inputs(inputs),
    }
    if sites_from is not None:
        body["sites"] = [row.to_json() for row in site_groups.read_file(sites_from)]
    created = client.connect().post("/groups", body=body)
    if output_format is not output.Format.table:
        views.dump(created, output_format)
        return
    made = created["created_deployments"]
    extra = f", {output.plural(len(made), 'deployment')} created" if made else ""
    output.line(
        f"group {group_id} created with {output.plural(created['members'], 'member')}{extra}"
    )


def _change(group_id: str, verb: str, body: dict[str, Any], fmt: output.Format) -> None:
    changed = client.connect().post(f"/groups/{group_id}/{verb}", body=body)
    if fmt is not output.Format.table:
        views.dump(changed, fmt)
        return
    done = "added" if verb == "extend" else "removed"
    listed = f": {', '.join(changed['changed'])}" if changed["changed"] else ""
    output.line(
        f"group {group_id}: {output.plural(len(changed['changed']), 'deployment')} {done}"
        f"{listed} ({output.plural(changed['members'], 'member')})"
    )


@app.command(
    epilog="Examples:\n\n  cairn groups extend prod -d web-9\n\n"
    "  cairn groups extend prod --filter env=prod   (adds what matches now)"
)
def extend(
    group_id: GroupArg,
    *,
    deployments: DeploymentsOpt = None,
    rule: filters.FilterOpt = None,
    filter_id: filters.FilterIdOpt = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Add deployments to a group: by id, or those the rules match now."""
    body = {"deployment_ids": _ids(deployments), "filter": list(rule or ()), "filter_id": filter_id}
    _change(group_id, "extend", body, output_format)


@app.command(
    epilog="Examples:\n\n  cairn groups shrink prod -d web-9\n\n"
    "  cairn groups shrink prod --filter 'status=failed'"
)
def shrink(
    group_id: GroupArg,
    *,
    deployments: DeploymentsOpt = None,
    rule: filters.FilterOpt = None,
    filter_id: filters.FilterIdOpt = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Remove deployments from a group (they stay): by id, or the members the rules match."""
    body = {"deployment_ids": _ids(deployments), "filter": list(rule or ()), "filter_id": filter_id}
    _change(group_id, "shrink", body, output_format)


@app.command("list")
def list_(output_format: options.OutputOpt = output.Format.table) -> None:
    """List groups with their member counts."""
    found = client.connect().get("/groups")
    views.show(found, output_format, lambda rows: [views.records("Groups", rows, _COLUMNS)])


@app.command()
def get(group_id: GroupArg, output_format: options.OutputOpt = output.Format.table) -> None:
    """Show a group and its deployments, each with its site and status."""
    found = client.connect().get(f"/groups/{group_id}")
    keys: list[views.Column] = [*_COLUMNS[1:], ("created by", "created_by")]

    def render(row: dict[str, Any]) -> list[Any]:
        return [
            views.fields(f"Group {group_id}", row, keys),
            views.records("Deployments", row["deployments"], _MEMBERS),
        ]

    views.show(found, output_format, render)


@app.command()
def delete(group_id: GroupArg) -> None:
    """Delete a group; its deployments stay."""
    client.connect().delete(f"/groups/{group_id}")
    output.line(f"group {group_id} deleted")
