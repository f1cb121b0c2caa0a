"""``cairn sites ...``: places where deployments run, their status and agent tokens."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from cairn.cli import client, filters, options, output, views
from cairn.services import auth, sites

app = typer.Typer(
    name="sites",
    help="Manage sites: places where deployments run (regions, edge locations, rooms), each "
    "with a location, labels and an agent. The built-in site 'local' is the manager itself.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The site's name.")]
LocationOpt = Annotated[
    str | None,
    typer.Option(
        "--location",
        metavar="LAT,LONG",
        help="Latitude and longitude in decimal degrees, e.g. 48.85,2.35.",
        show_default=False,
    ),
]
LabelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--label",
        metavar="KEY=VALUE",
        help="A label for the site. Repeatable; a key may have several values; keys are "
        "lower-cased.",
        show_default=False,
    ),
]
DescriptionOpt = Annotated[
    str | None,
    typer.Option("--description", metavar="TEXT", help="What the site is.", show_default=False),
]


def _location(row: Mapping[str, Any]) -> str:
    where = row.get("location")
    return f"{where['latitude']},{where['longitude']}" if where else "-"


_COLUMNS: list[views.Column] = [
    ("site", "name"),
    ("status", "status"),
    ("last seen", lambda row: views.ago(row.get("last_seen"))),
    ("agent version", "agent_version"),
    ("deployments", lambda row: str(row.get("deployments", 0))),
    ("location", _location),
    ("labels", views.labels),
]


def _parse_location(text: str | None) -> dict[str, float] | None:
    if text is None:
        return None
    found = sites.parse_location(text, field="--location")
    return {"latitude": found.latitude, "longitude": found.longitude}


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn sites create paris-1 --location 48.85,2.35 --label region=eu --label tier=edge\n\n"
        "  cairn sites token paris-1 --output-file paris-1.token\n\n"
        "Needs an operator token. The site's agent then needs a token: 'cairn sites token'."
    )
)
def create(
    name: NameArg,
    *,
    location: Annotated[
        str,
        typer.Option(
            "--location",
            metavar="LAT,LONG",
            help="Latitude and longitude in decimal degrees, e.g. 48.85,2.35.",
            show_default=False,
        ),
    ],
    label: LabelOpt = None,
    description: DescriptionOpt = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Create a site."""
    body = {
        "name": name,
        "location": _parse_location(location),
        "labels": options.labels(label),
        "description": description,
    }
    created = client.connect().post("/sites", body=body)
    if output_format is output.Format.table:
        output.line(f"site {name} created at {_location(created)}")
        return
    views.dump(created, output_format)


@app.command(
    "list",
    epilog="Examples:\n\n  cairn sites list --filter region=eu --filter status=online\n\n"
    "  cairn sites list --filter 'name starts-with par'",
)
def list_(
    rule: filters.FilterOpt = None,
    filter_id: filters.FilterIdOpt = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """List sites: status, when the agent was last seen, deployments, location, labels."""
    params = {"filter": rule or None, "filter_id": filter_id}
    found = client.connect().get("/sites", params=params)
    views.show(found, output_format, lambda rows: [views.records("Sites", rows, _COLUMNS)])


@app.command()
def get(name: NameArg, output_format: options.OutputOpt = output.Format.table) -> None:
    """Show a site."""
    found = client.connect().get(f"/sites/{name}")
    keys: list[views.Column] = [
        *_COLUMNS[1:],
        ("agent address", "agent_address"),
        ("description", "description"),
        ("created", "created_at"),
        ("created by", "created_by"),
    ]
    views.show(found, output_format, lambda row: [views.fields(f"Site {name}", row, keys)])


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn sites update paris-1 --label tier=core --remove-label tier=edge\n\n"
        "  cairn sites update paris-1 --location 48.86,2.34 --description 'new room'\n\n"
        "Removals (--remove-label KEY or KEY=VALUE) come before additions."
    )
)
def update(
    name: NameArg,
    *,
    location: LocationOpt = None,
    label: LabelOpt = None,
    remove_label: Annotated[
        list[str] | None,
        typer.Option(
            "--remove-label",
            metavar="KEY[=VALUE]",
            help="Remove a label (or one of its values). Repeatable.",
            show_default=False,
        ),
    ] = None,
    description: DescriptionOpt = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Change a site's location, labels or description."""
    body = {
        "location": _parse_location(location),
        "labels": options.labels(label),
        "remove_labels": list(remove_label or ()),
        "description": description,
    }
    updated = client.connect().patch(f"/sites/{name}", body=body)
    if output_format is output.Format.table:
        output.line(f"site {name} updated")
        return
    views.dump(updated, output_format)


@app.command()
def delete(name: NameArg) -> None:
    """Delete a site (none of its deployments may remain); its agent tokens stop working."""
    client.connect().delete(f"/sites/{name}")
    output.line(f"site {name} deleted")


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn sites token paris-1 --output-file /etc/cairn/paris-1.token\n\n"
        "  cairn sites token paris-1 > token     # printed alone on stdout\n\n"
        "Revokes the site's previous agent token at once. Needs an admin token."
    )
)
def token(
    name: NameArg,
    output_file: Annotated[
        pathlib.Path | None,
        typer.Option(
            "--output-file",
            metavar="FILE",
            help="Write the token to FILE (mode 0600), for 'cairn agent --token-file'.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Issue (or rotate) a site's agent token; it is shown only this once."""
    issued = client.connect().post(f"/sites/{name}/token")
    if output_file is not None:
        auth.write_private(output_file, issued["token"] + "\n")
        output.line(f"agent token of site {name} written to {output_file}", stream=sys.stderr)
    else:
        output.line(issued["token"])
        output.line(
            f"agent token of site {name} issued; it is shown only this once", stream=sys.stderr
        )
