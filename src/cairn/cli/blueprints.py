"""``cairn blueprints ...``: check a blueprint and show its plan (locally); upload, list,
get and delete blueprints on a manager.

Thin commands: read the options, call one function of :mod:`cairn.services.blueprints`
or one REST call, render what comes back with :mod:`cairn.cli.output` and
:mod:`cairn.cli.views`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cairn import errors
from cairn.cli import client, options, output, views
from cairn.services import blueprints

app = typer.Typer(
    name="blueprints",
    help=(
        "Check blueprints and show their plans; upload them to a manager.\n\n"
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


BlueprintIdArg = Annotated[str, typer.Argument(metavar="BLUEPRINT", help="The blueprint's id.")]
_COLUMNS: list[views.Column] = [
    ("blueprint", "id"),
    ("main file", "main_file"),
    ("nodes", "nodes"),
    ("workflows", lambda b: len(b.get("workflows") or [])),
    ("created", "created_at"),
    ("description", "description"),
]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  cairn blueprints upload examples/hello-web -b hello-web\n\n"
        "  cairn blueprints upload app/other.yaml -b app2\n\n"
        "  cairn blueprints upload app.tar.gz -b app3 -n app/blueprint.yaml\n\n"
        "A folder is packed and sent whole (scripts included); a YAML file is sent with the "
        "folder it is in. The manager checks the blueprint: problems are printed as "
        "FILE:LINE:COL: CODE message (exit 1)."
    )
)
def upload(
    path: Annotated[
        str,
        typer.Argument(
            metavar="PATH",
            help="A blueprint folder, its main YAML file, or a tar.gz/zip archive.",
            show_default=False,
        ),
    ],
    blueprint_id: Annotated[
        str, typer.Option("-b", "--blueprint-id", metavar="ID", help="The id to store it under.")
    ],
    main_file: Annotated[
        str | None,
        typer.Option(
            "-n",
            "--main-file",
            metavar="FILE",
            help="The main YAML inside a folder or archive (default blueprint.yaml).",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="Overrides the blueprint's own.")
    ] = None,
    output_format: options.OutputOpt = output.Format.table,
) -> None:
    """Upload a blueprint to the manager."""
    stored = send(path, blueprint_id=blueprint_id, main_file=main_file, description=description)
    if output_format is output.Format.table:
        output.line(
            f"blueprint {stored['id']} uploaded ({output.plural(stored['nodes'], 'node')}, "
            f"workflows: {', '.join(stored['workflows']) or '-'})"
        )
        return
    views.dump(stored, output_format)


def send(
    path: str, *, blueprint_id: str, main_file: str | None, description: str | None = None
) -> dict[str, Any]:
    """Upload ``path`` as ``blueprint_id``; problems come back with local file paths."""
    data, main, local = blueprints.package(path, main_file=main_file)
    try:
        stored: dict[str, Any] = client.connect().put(
            f"/blueprints/{blueprint_id}",
            content=data,
            params={"main_file": main, "description": description},
            headers={"Content-Type": "application/octet-stream"},
        )
    except errors.BlueprintError as exc:
        raise errors.BlueprintError([_local(p, local) for p in exc.problems]) from None
    return stored


def _local(problem: errors.Problem, folder: str | None) -> errors.Problem:
    import dataclasses
    import os

    if folder is None:
        return problem
    here = os.path.join(folder, problem.file)
    if not os.path.exists(here):
        return problem
    return dataclasses.replace(problem, file=os.path.abspath(here))


@app.command("list")
def list_(output_format: options.OutputOpt = output.Format.table) -> None:
    """List the blueprints on the manager."""
    found = client.connect().get("/blueprints")
    views.show(found, output_format, lambda rows: [views.records("Blueprints", rows, _COLUMNS)])


@app.command()
def get(
    blueprint_id: BlueprintIdArg, output_format: options.OutputOpt = output.Format.table
) -> None:
    """Show a blueprint on the manager (-o json includes its whole plan)."""
    found = client.connect().get(f"/blueprints/{blueprint_id}")

    keys: list[views.Column] = [c for c in _COLUMNS if c[0] != "workflows"]
    keys.append(("workflows", lambda b: ", ".join(b.get("workflows") or [])))
    views.show(
        found, output_format, lambda row: [views.fields(f"Blueprint {row['id']}", row, keys)]
    )


@app.command()
def delete(blueprint_id: BlueprintIdArg) -> None:
    """Delete a blueprint from the manager (refused while deployments use it)."""
    client.connect().delete(f"/blueprints/{blueprint_id}")
    output.line(f"blueprint {blueprint_id} deleted")
