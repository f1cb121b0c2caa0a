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
from cairn.cli import blueprints, output

app = typer.Typer(
    name="cairn",
    help=(
        "Cairn: environments as a service across many sites.\n\n"
        "Cairn reads Cloudify-compatible blueprints (DSL 1.3 to 1.5). Today it checks a "
        "blueprint and shows its plan; deployments, workflows and rollouts come next."
    ),
    epilog=(
        "Examples:\n\n"
        "  cairn blueprints validate examples/hello-web/blueprint.yaml\n\n"
        "  cairn blueprints plan examples/hello-web/blueprint.yaml -o table\n\n"
        "Exit codes: 0 ok, 1 failed (invalid blueprint or inputs), 2 bad usage."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(blueprints.app, name="blueprints")


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
) -> None:
    """Cairn: environments as a service across many sites."""


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
