"""Cairn's standard types library: the built-in ``cloudify/types/types.yaml``.

Cloudify's manager answers a blueprint's ``cloudify/types/types.yaml`` import with a
file chosen by the blueprint's DSL version. Cairn ships its own files, semantically
equal to Cloudify's (``tests/dsl/test_stdlib.py`` holds them to the reference), so plans
match Cloudify's:

* ``types_1_3.yaml`` for ``cloudify_dsl_1_3``,
* ``types_1_4.yaml`` for ``cloudify_dsl_1_4``,
* ``types_1_5.yaml`` for ``cloudify_dsl_1_5``, and for 1_0..1_2 as Cloudify does.

Cairn's own node types (``cairn.nodes.File``, ...) are in ``resources.yaml``, imported as
``cairn/types/resources.yaml`` (:data:`RESOURCES_IMPORT`); they are Cairn's alone, so they
stay out of the files above and plans of Cloudify blueprints do not change.

The files are data next to this module; only :func:`path_for` and :func:`resources_path`
know their names.
"""

from __future__ import annotations

import pathlib
import re

STDLIB_URL = "cairn:types"
"""Where the standard types claim to come from, in messages (they have no real URL)."""

RESOURCES_IMPORT = "cairn/types/resources.yaml"
"""How a blueprint imports Cairn's built-in resource node types."""

_DIR = pathlib.Path(__file__).parent
_VERSION = re.compile(r"(?:cloudify_dsl_)?(\d+)_(\d+)(?:_\d+)?")
# Newest first: the first file whose version is at most the blueprint's wins; anything
# older than 1_4 gets the 1_3 file.
_FILES = (((1, 5), "types_1_5.yaml"), ((1, 4), "types_1_4.yaml"), ((1, 3), "types_1_3.yaml"))
# Cloudify's manager has no types file for 1_0..1_2 and serves its newest one.
_OLDEST = "types_1_5.yaml"


def path_for(dsl_version: str) -> pathlib.Path:
    """The standard types file for a DSL version.

    Takes ``cloudify_dsl_1_4`` or its short form ``1_4``; raises :class:`ValueError`
    for anything else.
    """
    found = _VERSION.fullmatch(dsl_version)
    if found is None:
        raise ValueError(f"not a DSL version: {dsl_version!r} (expected e.g. cloudify_dsl_1_4)")
    version = (int(found.group(1)), int(found.group(2)))
    for since, name in _FILES:
        if version >= since:
            return _DIR / name
    return _DIR / _OLDEST


def resources_path() -> pathlib.Path:
    """The file of Cairn's built-in resource node types (any DSL version from 1_3)."""
    return _DIR / "resources.yaml"
