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


def ctx_launcher(python: str) -> str:
    """The text of the ``ctx`` command for interpreter ``python``.

    A ``#!python -SE`` line starts the interpreter without ``site`` and without reading
    ``PYTHON*`` variables (the scripts' own ``PYTHONPATH`` must not slow ``ctx`` down or
    change it); when the interpreter's path cannot go on a ``#!`` line, ``/bin/sh`` starts it.
    """
    compat = str(COMPAT_DIR)
    if _shebang_safe(python):
        return (
            f"#!{python} -SE\n"
            "import sys\n"
            f"sys.path[0] = {compat!r}\n"
            f"from {CTX_MODULE} import main\n"
            "sys.exit(main())\n"
        )
    return f'#!/bin/sh\nexec {_sh_quote(python)} -SE {_sh_quote(compat + "/" + CTX_MODULE + ".py")} "$@"\n'


def _shebang_safe(path: str) -> bool:
    return len(path) < 120 and not any(c.isspace() for c in path) and path.startswith("/")


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
