"""``cairn deployments ...``: create deployments on a manager, read and delete them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cairn.cli import client, filters, options, output, views

app = typer.Typer(
    name="deployments",
    help="Create, inspect and delete deployments: a blueprint with inputs, on a manager.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

DeploymentArg = Annotated[str, typer.Argument(metavar="DEP", help="The deployment's id.")]


# modes are checked by the manager, whose refusal is one line like every other error
DriftModeOpt = Annotated[
    str | None,
    typer.Option(
        "--drift-mode",
        metavar="MODE",
        help="Scheduled drift checks: off, detect (check and record) or correct (then update "
        "drifted instances and heal failed ones).",
    ),
]
DriftIntervalOpt = Annotated[
    str | None,
    typer.Option(
        "--drift-interval",
        metavar="DURATION",
        help="Time between scheduled checks: 90 (seconds), 30s, 5m, 1h, 1d. Default 1h.",
    ),
]
_COLUMNS: list[views.Column] = [
    ("deployment", "id"),
    ("blueprint", "blueprint_id"),
    ("site", "site"),
    ("labels", views.labels),
    ("created", "created_at"),
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn deployments create web1 -b hello-web -i port=9090 --label env=dev\n\n"
        "  cairn deployments create web2 -b hello-web -i inputs.yaml --site paris-1\n\n"
        "Creates node instances, uninitialized; run the install workflow to create the "
        "environment (or use 'cairn install'). Invalid inputs are all listed (exit 1)."
    )
)
def create(
    deployment_id: DeploymentArg,
    *,
    blueprint_id: Annotated[
        str, typer.Option("-b", "--blueprint-id", metavar="BLUEPRINT", help="The blueprint.")
    ],
    inputs: options.InputsOpt = None,
    label: options.LabelOpt = None,
    site: Annotated[
        str,
        typer.Option("--site", metavar="SITE", help="The site to place the deployment on."),
    ] = "local",
    drift_mode: DriftModeOpt = None,
    drift_interval: DriftIntervalOpt = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Create a deployment of a blueprint on the manager."""
    body: dict[str, Any] = {
        "blueprint_id": blueprint_id,
        "inputs": options.inputs(inputs),
        "labels": options.labels(label),
        "site": site,
    }
    if drift_mode is not None:
        body["drift_mode"] = drift_mode
    if drift_interval is not None:
        body["drift_interval"] = drift_interval
    created = client.connect().put(f"/deployments/{deployment_id}", body=body)
    if output_format is output.Format.table:
        count = sum(created["node_instances"].values())
        output.line(
            f"deployment {deployment_id} created from blueprint {blueprint_id} on site {site} "
            f"({output.plural(count, 'node instance')})"
        )
        return
    views.dump(created, output_format)


@app.command("list")
def list_(
    blueprint_id: Annotated[
        str | None,
        typer.Option("-b", "--blueprint-id", metavar="BLUEPRINT", help="Only this blueprint's."),
    ] = None,
    rule: filters.FilterOpt = None,
    filter_id: filters.FilterIdOpt = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """List deployments: all, or those every --filter rule (and --filter-id) matches."""
    params = {"blueprint_id": blueprint_id, "filter": rule or None, "filter_id": filter_id}
    found = client.connect().get("/deployments", params=params)
    views.show(found, output_format, lambda rows: [views.records("Deployments", rows, _COLUMNS)])


@app.command()
def get(
    deployment_id: DeploymentArg, output_format: options.OutputOpt = output.Format.table
) -> None:
    """Show a deployment: blueprint, labels, workflows, node instances by state."""
    found = client.connect().get(f"/deployments/{deployment_id}")

    def render(row: dict[str, Any]) -> list[Any]:
        keys: list[views.Column] = [
            *_COLUMNS,
            ("created by", "created_by"),
            ("workflows", lambda d: ", ".join(d.get("workflows") or [])),
            (
                "node instances",
                lambda d: ", ".join(f"{n} {s}" for s, n in d["node_instances"].items()),
            ),
        ]
        return [
            views.fields(f"Deployment {row['id']}", row, keys),
            views.values("Inputs", row.get("inputs") or {}),
        ]

    views.show(found, output_format, render)


@app.command()
def inputs(
    deployment_id: DeploymentArg, output_format: options.OutputOpt = output.Format.table
) -> None:
    """Show the inputs a deployment was created with."""
    found = client.connect().get(f"/deployments/{deployment_id}/inputs")
    views.show(found, output_format, lambda d: [views.values("Inputs", d["inputs"])])


@app.command()
def outputs(
    deployment_id: DeploymentArg, output_format: options.OutputOpt = output.Format.table
) -> None:
    """Show a deployment's outputs, runtime functions evaluated now."""
    _values(deployment_id, "outputs", output_format)


@app.command()
def capabilities(
    deployment_id: DeploymentArg, output_format: options.OutputOpt = output.Format.table
) -> None:
    """Show a deployment's capabilities, runtime functions evaluated now."""
    _values(deployment_id, "capabilities", output_format)


def _values(deployment_id: str, section: str, output_format: output.Format) -> None:
    found = client.connect().get(f"/deployments/{deployment_id}/{section}")

    def render(data: dict[str, Any]) -> list[Any]:
        return [views.values(section.capitalize(), data["values"], described=True)]

    views.show(found, output_format, render)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn deployments labels web1                       (show them)\n\n"
        "  cairn deployments labels web1 --label env=prod --label tier=web\n\n"
        "  cairn deployments labels web1 --remove env=staging --remove owner\n\n"
        "  cairn deployments labels web1 --replace --label env=prod\n\n"
        "Removals come before additions; --replace drops every label first. Keys are "
        "lower-cased; a key may have several values."
    )
)
def labels(
    deployment_id: DeploymentArg,
    *,
    label: options.LabelOpt = None,
    remove: Annotated[
        list[str] | None,
        typer.Option(
            "--remove",
            metavar="KEY[=VALUE]",
            help="Remove a label (or one of its values). Repeatable.",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Drop every label first: --label values remain.")
    ] = False,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Show or change a deployment's labels."""
    if label or remove or replace:
        body = {
            "labels": options.labels(label),
            "remove_labels": list(remove or ()),
            "replace_labels": replace,
        }
        found = client.connect().patch(f"/deployments/{deployment_id}", body=body)
    else:
        found = client.connect().get(f"/deployments/{deployment_id}")
    if output_format is not output.Format.table:
        views.dump(found["labels"], output_format)
        return
    output.line(f"deployment {deployment_id}: {views.labels(found)}")


@app.command(
    "set-site",
    epilog=(
        "Example:\n\n"
        "  cairn deployments set-site web1 paris-1\n\n"
        "Refused while an execution of the deployment is active or queued."
    ),
)
def set_site(
    deployment_id: DeploymentArg,
    site: Annotated[str, typer.Argument(metavar="SITE", help="The site to move it to.")],
) -> None:
    """Move a deployment to another site: its next executions run there."""
    client.connect().put(f"/deployments/{deployment_id}/site", body={"site": site})
    output.line(f"deployment {deployment_id} moved to site {site}")


@app.command(
    "set-drift",
    epilog=(
        "Examples:\n\n"
        "  cairn deployments set-drift web1 --mode detect --interval 5m\n\n"
        "  cairn deployments set-drift web1 --mode correct --interval 1h\n\n"
        "  cairn deployments set-drift web1 --mode off\n\n"
        "The first scheduled check is one interval from now. See 'cairn drift list'."
    ),
)
def set_drift(
    deployment_id: DeploymentArg,
    mode: Annotated[
        str,
        typer.Option("--mode", metavar="MODE", help="off, detect or correct.", show_default=False),
    ],
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval",
            metavar="DURATION",
            help="Time between scheduled checks: 90 (seconds), 30s, 5m, 1h, 1d. Default 1h.",
        ),
    ] = None,
) -> None:
    """Set a deployment's drift policy: scheduled checks, and corrections."""
    body: dict[str, Any] = {"mode": mode}
    if interval is not None:
        body["interval"] = interval
    found = client.connect().put(f"/deployments/{deployment_id}/drift-policy", body=body)
    if found["drift_mode"] == "off":
        output.line(f"deployment {deployment_id}: drift checks off")
    else:
        output.line(
            f"deployment {deployment_id}: drift {found['drift_mode']} every "
            f"{found['drift_interval']:g}s, next check at {found['drift_next_at']}"
        )


@app.command()
def delete(
    deployment_id: DeploymentArg,
    force: Annotated[
        bool,
        typer.Option("-f", "--force", help="Delete even if node instances are still installed."),
    ] = False,
) -> None:
    """Delete a deployment (run uninstall first, or use --force)."""
    client.connect().delete(f"/deployments/{deployment_id}", params={"force": force or None})
    output.line(f"deployment {deployment_id} deleted")
