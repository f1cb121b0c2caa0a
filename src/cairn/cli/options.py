"""Options shared by the remote commands, and the parsing of their values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from cairn import errors
from cairn.cli import output
from cairn.services import blueprints

OutputOpt = Annotated[
    output.Format,
    typer.Option(
        "-o",
        "--output",
        help="table for people; json or yaml: the API's answer, for scripts.",
        case_sensitive=False,
    ),
]
InputsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-i",
        "--inputs",
        metavar="INPUTS",
        help="Deployment inputs: NAME=VALUE (VALUE read as YAML), 'A=1;B=2', a JSON mapping, "
        "or a YAML/JSON file. Repeatable; later ones win.",
        show_default=False,
    ),
]
ParamsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-p",
        "--parameters",
        metavar="PARAMS",
        help="Workflow parameters, written like -i: NAME=VALUE, 'A=1;B=2', JSON or a file. "
        "Repeatable.",
        show_default=False,
    ),
]
LabelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--label",
        metavar="KEY=VALUE",
        help="A label for the deployment. Repeatable; a key may have several values.",
        show_default=False,
    ),
]
DeploymentOpt = Annotated[
    str, typer.Option("-d", "--deployment-id", metavar="DEP", help="The deployment.")
]


def inputs(specs: Sequence[str] | None) -> dict[str, Any]:
    return blueprints.load_inputs(specs or ())


def parameters(specs: Sequence[str] | None) -> dict[str, Any]:
    """Workflow parameters, read like inputs; errors name ``-p``."""
    try:
        return blueprints.load_inputs(specs or ())
    except errors.UsageError as exc:
        raise errors.UsageError(exc.message.replace("-i ", "-p ", 1)) from None


def labels(specs: Sequence[str] | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for spec in specs or ():
        key, sep, value = spec.partition("=")
        if not sep or not key.strip():
            raise errors.UsageError(f"--label {spec}: expected KEY=VALUE")
        found.setdefault(key.strip(), []).append(value.strip())
    return found
