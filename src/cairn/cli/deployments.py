"""``cairn deployments ...``: create deployments on a manager, read and delete them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cairn.cli import client, options, output, views

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
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """List deployments."""
    found = client.connect().get("/deployments", params={"blueprint_id": blueprint_id})
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
