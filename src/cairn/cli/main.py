"""The ``cairn`` command: the Typer application and the console-script entry point.

:func:`run` is the only place that turns exceptions into output: every command lets
:class:`~cairn.errors.CairnError` and :class:`OSError` rise, and the user sees one line on
stderr and an exit code (0 ok, 1 failed, 2 bad usage), never a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

import cairn
from cairn import errors
from cairn.cli import (
    agent,
    blueprints,
    client,
    deployments,
    drift,
    events,
    executions,
    filters,
    groups,
    install,
    node_instances,
    output,
    profiles,
    rollouts,
    secrets,
    sites,
    tokens,
    up,
    updates,
)

app = typer.Typer(
    name="cairn",
    help=(
        "Cairn: environments as a service across many sites.\n\n"
        "Cairn runs Cloudify-compatible blueprints (DSL 1.3 to 1.5): 'cairn up' starts a "
        "manager; the other commands talk to it over its REST API."
    ),
    epilog=(
        "Examples:\n\n"
        "  cairn up --detach\n\n"
        "  cairn install examples/hello-web -d web1 -i port=9090\n\n"
        "  cairn deployments outputs web1\n\n"
        "  cairn uninstall web1\n\n"
        "  cairn blueprints validate examples/hello-web/blueprint.yaml\n\n"
        "Exit codes: 0 ok, 1 failed (invalid blueprint or inputs, a failed execution, an "
        "error from the manager), 2 bad usage (also: a named thing does not exist)."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(blueprints.app, name="blueprints")
app.add_typer(agent.app, name="agent")
deployments.app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn deployments update web1 -b hello-web-v2 --preview\n\n"
        "  cairn deployments update web1 -b hello-web-v2 -i port=9090 --wait\n\n"
        "  cairn deployments update web1 --wait     (same revision: reapply drifted instances)\n\n"
        "Inputs not given keep their values. Refused (exit 1, nothing changed): an unknown "
        "blueprint, bad inputs (all listed), another execution active or queued."
    )
)(updates.update)
deployments.app.command()(updates.history)
deployments.app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn deployments revert web1 --preview\n\n"
        "  cairn deployments revert web1 --to 1 --wait"
    )
)(updates.revert)
app.add_typer(deployments.app, name="deployments")
app.add_typer(drift.app, name="drift")
app.add_typer(executions.app, name="executions")
app.add_typer(node_instances.app, name="node-instances")
app.add_typer(events.app, name="events")
app.add_typer(secrets.app, name="secrets")
app.add_typer(tokens.app, name="tokens")
app.add_typer(sites.app, name="sites")
app.add_typer(rollouts.app, name="rollouts")
app.add_typer(filters.app, name="filters")
app.add_typer(groups.app, name="groups")
app.add_typer(profiles.app, name="profiles")
app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn install examples/hello-web -d web1\n\n"
        "  cairn install app/ -d app-prod -b app -i inputs/prod.yaml --label env=prod\n\n"
        "Exit codes: 0 install succeeded; 1 it failed (resume it with 'cairn executions "
        "resume', or run 'cairn uninstall'), or the blueprint or inputs are not valid "
        "(nothing is left behind); 2 bad usage."
    )
)(install.install)
app.command()(install.uninstall)
app.command()(up.up)
app.command()(up.down)


def _show_version(value: bool) -> None:
    if value:
        output.line(f"cairn {cairn.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Show Cairn's version and exit.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
    manager: Annotated[
        str | None,
        typer.Option(
            "--manager",
            metavar="URL",
            envvar="CAIRN_MANAGER",
            help="The manager to talk to (default: the current profile's, else "
            "http://127.0.0.1:8700).",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            envvar="CAIRN_TOKEN",
            help="API token (default: the current profile's, else the admin token that "
            "'cairn up' wrote in its data directory).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Cairn: environments as a service across many sites."""
    client.configure(manager=manager, token=token)


def run() -> None:
    """Console-script entry point (``cairn``).

    Typer reports its own usage errors (unknown option, bad choice: exit 2); everything a
    command raises arrives here.
    """
    try:
        app(prog_name="cairn")
    except Exception as exc:  # one line on stderr, never a traceback; see the docstring
        if os.environ.get("CAIRN_DEBUG") and not isinstance(exc, errors.CairnError):
            raise
        sys.exit(output.report(exc))
