"""``cairn blueprints ...``: check a blueprint and show its plan.

Thin commands: read the options, call one function of :mod:`cairn.services.blueprints`,
render what it returns with :mod:`cairn.cli.output`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cairn.cli import output
from cairn.services import blueprints

app = typer.Typer(
    name="blueprints",
    help=(
        "Check blueprints and show their plans.\n\n"
        "A blueprint is a Cloudify DSL 1.3-1.5 YAML file (or a directory holding "
        "blueprint.yaml). Imports of cloudify/types/types.yaml resolve to Cairn's built-in "
        "standard types; nothing is ever downloaded."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

PathArg = Annotated[
    str,
    typer.Argument(
        metavar="PATH",
        help="The blueprint's main YAML file, or a directory holding blueprint.yaml.",
        show_default=False,
    ),
]
PluginPathOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--plugin-path",
        metavar="DIR",
        help=(
            "A directory where [bold]plugin:NAME[/bold] imports are looked up "
            "(DIR/NAME/plugin.yaml). Repeatable; searched before $CAIRN_PLUGIN_PATH."
        ),
        show_default=False,
    ),
]
OutputOpt = Annotated[
    output.Format,
    typer.Option("-o", "--output", help="How to print the plan.", case_sensitive=False),
]
InputsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-i",
        "--inputs",
        metavar="INPUTS",
        help=(
            "Deployment inputs: NAME=VALUE (VALUE read as YAML, so port=8080 is a number), "
            "'A=1;B=2', a JSON mapping, or a YAML/JSON file. Repeatable; later ones win. "
            "Given at least once, the deployment plan is printed instead of the plan."
        ),
        show_default=False,
    ),
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn blueprints validate examples/hello-web/blueprint.yaml\n\n"
        "  cairn blueprints validate my-app/ --plugin-path ./plugins\n\n"
        "Prints 'PATH: valid (N nodes)' and exits 0, or prints every problem as "
        "FILE:LINE:COL: CODE message and exits 1. A missing file or bad option exits 2."
    )
)
def validate(path: PathArg, plugin_path: PluginPathOpt = None) -> None:
    """Check a blueprint and list every problem it has, at once."""
    options = blueprints.parse_options(plugin_paths=plugin_path or ())
    verdict = blueprints.check(path, options=options)
    if verdict.valid:
        output.line(f"{path}: valid ({output.plural(verdict.node_count, 'node')})")
        return
    count = output.problems(verdict.problems)
    output.error(f"{path}: the blueprint is not valid ({output.plural(count, 'problem')})")
    raise typer.Exit(output.EXIT_FAILED)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn blueprints plan examples/hello-web/blueprint.yaml -o table\n\n"
        "  cairn blueprints plan examples/hello-web/blueprint.yaml -o json | jq '.nodes[].id'\n\n"
        "  cairn blueprints plan examples/hello-web/blueprint.yaml "
        "-i examples/hello-web/inputs.yaml -i port=9090\n\n"
        "The JSON shape is described in docs/plan-format.md. Exits 1 when the blueprint or "
        "the inputs are not valid, 2 on bad usage."
    )
)
def plan(
    path: PathArg,
    output_format: OutputOpt = output.Format.json,
    inputs: InputsOpt = None,
    plugin_path: PluginPathOpt = None,
) -> None:
    """Print a blueprint's plan: every node with its types, properties, operations and
    relationships, intrinsic functions as written.

    With [bold]-i[/bold], print the deployment plan instead: inputs checked and applied,
    static functions evaluated, node instances created.
    """
    options = blueprints.parse_options(plugin_paths=plugin_path or ())
    if inputs:
        values = blueprints.load_inputs(inputs)
        prepared = blueprints.deployment_plan(path, options=options, inputs=values)
        output.deployment_plan(prepared, output_format)
    else:
        output.plan(blueprints.plan(path, options=options), output_format)
