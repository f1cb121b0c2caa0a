"""``cairn executions ...``: start workflows, watch them, resume and cancel them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cairn import errors
from cairn.cli import client, follow, options, output, views

app = typer.Typer(
    name="executions",
    help="Run workflows on deployments and follow them: start, list, get, follow, resume, cancel.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

ExecutionArg = Annotated[str, typer.Argument(metavar="EXECUTION", help="The execution's id.")]
COLUMNS: list[views.Column] = [
    ("execution", "id"),
    ("deployment", "deployment_id"),
    ("workflow", "workflow_id"),
    ("status", "status"),
    ("created", "created_at"),
    ("ended", "ended_at"),
    ("error", "error"),
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn executions start install -d web1 --wait\n\n"
        "  cairn executions start scale -d web1 -p scalable_entity_name=web -p delta=2 --queue\n\n"
        "Without --wait, prints the new execution and exits 0. With --wait, prints its events "
        "until it ends and exits 0 if it succeeded, 1 otherwise. A deployment runs one "
        "execution at a time: --queue waits in line, else a busy deployment refuses (exit 1)."
    )
)
def start(
    workflow_id: Annotated[str, typer.Argument(metavar="WORKFLOW", help="install, uninstall, ...")],
    *,
    deployment_id: options.DeploymentOpt,
    parameters: options.ParamsOpt = None,
    queue: Annotated[
        bool, typer.Option("--queue", help="If the deployment is busy, wait in line.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Follow its events until it ends.")
    ] = False,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Start a workflow on a deployment."""
    remote = client.connect()
    started = remote.post(
        "/executions",
        body={
            "deployment_id": deployment_id,
            "workflow_id": workflow_id,
            "parameters": options.parameters(parameters),
            "queue": queue,
        },
    )
    if not wait:
        _show_one(started, output_format)
        return
    if output_format is output.Format.table:
        output.line(f"execution {started['id']} started ({workflow_id} on {deployment_id})")
    ended = follow.events(remote, started["id"], quiet=output_format is not output.Format.table)
    _finish(ended, output_format)


def _finish(execution: dict[str, Any], output_format: output.Format) -> None:
    if output_format is output.Format.table:
        output.line(follow.summary(execution))
    else:
        views.dump(execution, output_format)
    raise typer.Exit(follow.exit_code(execution))


def _show_one(execution: dict[str, Any], output_format: output.Format) -> None:
    views.show(
        execution,
        output_format,
        lambda row: [
            views.fields(
                f"Execution {row['id']}",
                row,
                [*COLUMNS[1:4], ("parameters", "parameters"), *COLUMNS[4:], ("by", "created_by")],
            )
        ],
    )


@app.command("list")
def list_(
    deployment_id: Annotated[
        str | None,
        typer.Option("-d", "--deployment-id", metavar="DEP", help="Only this deployment's."),
    ] = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """List executions, oldest first."""
    found = client.connect().get("/executions", params={"deployment_id": deployment_id})
    views.show(found, output_format, lambda rows: [views.records("Executions", rows, COLUMNS)])


@app.command()
def get(execution_id: ExecutionArg, output_format: options.OutputOpt = output.Format.table) -> None:
    """Show an execution."""
    _show_one(client.connect().get(f"/executions/{execution_id}"), output_format)


@app.command("follow")
def follow_(
    execution_id: ExecutionArg,
    after_id: Annotated[
        int, typer.Option("--after-id", metavar="N", help="Start after event N.")
    ] = 0,
) -> None:
    """Print an execution's events until it ends; exit 0 if it succeeded, 1 otherwise."""
    ended = follow.events(client.connect(), execution_id, after_id=after_id)
    _finish(ended, output.Format.table)


@app.command()
def resume(
    execution_id: ExecutionArg,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Follow it until it ends.")] = False,
) -> None:
    """Resume a failed or cancelled execution: rerun its failed and never-started tasks."""
    remote = client.connect()
    resumed = remote.post(f"/executions/{execution_id}/resume")
    output.line(f"execution {resumed['id']} resumed ({resumed['status']})")
    if wait:
        _finish(follow.events(remote, execution_id), output.Format.table)


@app.command()
def cancel(
    execution_id: ExecutionArg,
    force: Annotated[
        bool, typer.Option("--force", help="Abandon running operations instead of waiting.")
    ] = False,
    kill: Annotated[bool, typer.Option("--kill", help="Kill running operations.")] = False,
) -> None:
    """Cancel an execution: no new operation starts; running ones finish (unless --force or
    --kill)."""
    if force and kill:
        raise errors.UsageError("--force and --kill exclude each other")
    mode = "kill" if kill else "force" if force else "cancel"
    found = client.connect().post(f"/executions/{execution_id}/cancel", body={"mode": mode})
    output.line(f"execution {found['id']} {found['status']}")
