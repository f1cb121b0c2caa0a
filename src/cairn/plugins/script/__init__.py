"""Cloudify's script plugin: scripts run as subprocesses, with ``ctx`` on their PATH.

:mod:`.launching` turns an operation's inputs and context into what to run (the command,
its environment, the script and the context file), :mod:`.outcome` turns what the script
left behind into an :class:`~cairn.model.executions.Outcome`. Running the process is the
connector's job. ``compat/`` is package data: the ``ctx`` command's code and the
``cloudify`` package that Python scripts import; it is put on the scripts' ``PYTHONPATH``
only.
"""

from __future__ import annotations

import pathlib

COMPAT_DIR = pathlib.Path(__file__).resolve().parent / "compat"
CTX_FILE_ENV = "CAIRN_CTX_FILE"
CTX_MODULE = "_cairn_ctx"
CTX_SETS_ENV = "CAIRN_CTX_SETS"
CTX_SETS_FILE = "ctx.sets"


def ctx_launcher(python: str) -> str:
    """The text of the ``ctx`` command for interpreter ``python``.

    The command is a ``/bin/sh`` script: starting Python costs ten times what starting a
    shell does, and most ``ctx`` calls of a script set one runtime property. So
    ``ctx instance runtime-properties KEY VALUE`` in a node operation (where the runner sets
    ``$CAIRN_CTX_SETS``), with a plain key (letters, digits, ``_`` and ``-``) and a plain
    value (not JSON, not an option, under 1,000 bytes), is appended to the sets file as
    ``KEY NUL VALUE NUL`` (one ``write``, atomic among appends; NUL cannot occur in an
    argument), which every later reader of the context file applies first
    (:func:`cairn.plugins.script.launching.apply_sets` and ``_cairn_ctx.ContextFile.load``).
    Any other call runs ``_cairn_ctx.py`` under ``python -SE``: no ``site`` and no
    ``PYTHON*`` variables (the scripts' own ``PYTHONPATH`` must not slow ``ctx`` down or
    change it).
    """
    code = (
        f"import sys; sys.path[0] = {str(COMPAT_DIR)!r}; "
        f"from {CTX_MODULE} import main; sys.exit(main())"
    )
    return (
        "#!/bin/sh\n"
        "case ${CAIRN_CTX_SETS:+on}:$#:${1-}:${2-} in\n"
        "on:4:instance:runtime-properties | on:4:instance:runtime_properties)\n"
        "  case $3 in\n"
        '  "" | [-@]* | *[!A-Za-z0-9_-]*) ;;\n'
        "  *)\n"
        "    case $4 in\n"
        "    [-@]*) ;;\n"
        "    *)\n"
        "      if [ ${#4} -lt 1000 ]; then\n"
        '        printf \'%s\\0%s\\0\' "$3" "$4" >>"$CAIRN_CTX_SETS" && exit 0\n'
        '        echo "ctx: cannot write $CAIRN_CTX_SETS" >&2\n'
        "        exit 1\n"
        "      fi ;;\n"
        "    esac ;;\n"
        "  esac ;;\n"
        "esac\n"
        f'exec {_sh_quote(python)} -SE -c {_sh_quote(code)} "$@"\n'
    )


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
