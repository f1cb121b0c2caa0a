"""``cairn install`` and ``cairn uninstall``: a blueprint folder to a running environment
in one command, and back.

``install`` uploads the blueprint (its id is the deployment's unless ``-b`` says
otherwise), creates the deployment, runs ``install`` and prints its events until it ends.
A step that fails undoes the steps before it, so a bad blueprint or bad inputs leave
nothing behind. The deployment is labelled with the blueprint it uploaded, so
``uninstall`` knows to delete that blueprint too once the deployment is gone.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import typer

from cairn import errors
from cairn.cli import blueprints, client, follow, options, output

INSTALL_LABEL = "cairn-install-blueprint"


def install(
    path: Annotated[
        str,
        typer.Argument(
            metavar="PATH",
            help="A blueprint folder, its main YAML file, or a tar.gz/zip archive.",
            show_default=False,
        ),
    ],
    *,
    deployment_id: options.DeploymentOpt,
    blueprint_id: Annotated[
        str | None,
        typer.Option(
            "-b", "--blueprint-id", metavar="ID", help="The blueprint's id (default: DEP)."
        ),
    ] = None,
    main_file: Annotated[
        str | None,
        typer.Option("-n", "--main-file", metavar="FILE", help="The main YAML in a folder."),
    ] = None,
    inputs: options.InputsOpt = None,
    label: options.LabelOpt = None,
    parameters: options.ParamsOpt = None,
) -> None:
    """Upload a blueprint, create a deployment and run install, printing its events.

    Exits 0 when install succeeded, 1 otherwise (the deployment stays, to resume or
    uninstall).
    """
    remote = client.connect()
    blueprint = blueprint_id or deployment_id
    values = options.inputs(inputs)
    params = options.parameters(parameters)
    labels = options.labels(label)
    labels.setdefault(INSTALL_LABEL, []).append(blueprint)
    blueprints.send(path, blueprint_id=blueprint, main_file=main_file)
    output.line(f"blueprint {blueprint} uploaded")
    with _undo_on_error(remote, f"/blueprints/{blueprint}"):
        remote.put(
            f"/deployments/{deployment_id}",
            body={"blueprint_id": blueprint, "inputs": values, "labels": labels},
        )
    output.line(f"deployment {deployment_id} created")
    with (
        _undo_on_error(remote, f"/blueprints/{blueprint}"),
        _undo_on_error(remote, f"/deployments/{deployment_id}"),
    ):
        started = remote.post(
            "/executions",
            body={"deployment_id": deployment_id, "workflow_id": "install", "parameters": params},
        )
    output.line(f"execution {started['id']} started (install on {deployment_id})")
    _finish(follow.events(remote, started["id"]))


def uninstall(
    deployment_id: Annotated[str, typer.Argument(metavar="DEP", help="The deployment.")],
    parameters: options.ParamsOpt = None,
    keep: Annotated[
        bool,
        typer.Option("--keep-deployment", help="Run uninstall only; keep the deployment."),
    ] = False,
) -> None:
    """Run uninstall, printing its events, then delete the deployment (and its blueprint,
    if 'cairn install' uploaded it and no other deployment uses it).

    Exits 0 when everything succeeded, 1 otherwise.
    """
    remote = client.connect()
    deployment = remote.get(f"/deployments/{deployment_id}")
    started = remote.post(
        "/executions",
        body={
            "deployment_id": deployment_id,
            "workflow_id": "uninstall",
            "parameters": options.parameters(parameters),
        },
    )
    output.line(f"execution {started['id']} started (uninstall on {deployment_id})")
    ended = follow.events(remote, started["id"])
    if ended["status"] != "succeeded" or keep:
        _finish(ended)
    output.line(follow.summary(ended))
    remote.delete(f"/deployments/{deployment_id}")
    output.line(f"deployment {deployment_id} deleted")
    for blueprint in (deployment.get("labels") or {}).get(INSTALL_LABEL, []):
        try:
            remote.delete(f"/blueprints/{blueprint}")
        except errors.ConflictError:
            output.line(f"blueprint {blueprint} kept: other deployments use it")
        except errors.NotFoundError:
            continue
        else:
            output.line(f"blueprint {blueprint} deleted")


def _finish(execution: dict[str, Any]) -> None:
    output.line(follow.summary(execution))
    raise typer.Exit(follow.exit_code(execution))


@contextlib.contextmanager
def _undo_on_error(remote: client.Client, path: str) -> Any:
    """Delete what ``path`` names if the block fails; the block's error is the one shown."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(errors.CairnError):
            remote.delete(path)
        raise
