"""DSL versions: reading ``tosca_definitions_version`` and gating features by version.

A feature used below the DSL version that introduced it is an error, as in Cloudify, but
only in the blueprint's own files: plugin YAML and the standard types library evolve on
their own, and a blueprint written for 1.3 keeps working when its plugin's YAML starts
using 1.4 keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cairn.dsl import yamlsrc
from cairn.dsl.problems import Problems

if TYPE_CHECKING:
    from cairn.dsl import loader

PREFIX = "cloudify_dsl_"
SUPPORTED = ("1_0", "1_1", "1_2", "1_3", "1_4", "1_5")
_FORMAT = re.compile(r"^cloudify_dsl_(\d+)_(\d+)(?:_(\d+))?$")


@dataclass(frozen=True, kw_only=True)
class Version:
    raw: str
    number: tuple[int, int]

    @property
    def short(self) -> str:
        return f"{self.number[0]}_{self.number[1]}"


def describe(number: tuple[int, int]) -> str:
    return f"{PREFIX}{number[0]}_{number[1]}"


def parse(raw: Any) -> tuple[Version | None, str]:
    if not raw:
        return None, "tosca_definitions_version is missing or empty"
    if not isinstance(raw, str):
        return None, f"tosca_definitions_version must be a string, not {raw!r}"
    match = _FORMAT.match(raw)
    if not match:
        return None, f"invalid tosca_definitions_version {raw!r}, expected e.g. {PREFIX}1_4"
    short = f"{match.group(1)}_{match.group(2)}"
    if short not in SUPPORTED or match.group(3):
        supported = ", ".join(PREFIX + v for v in SUPPORTED)
        return None, f"unsupported tosca_definitions_version {raw!r} (supported: {supported})"
    return Version(raw=raw, number=(int(match.group(1)), int(match.group(2)))), ""


def read(data: yamlsrc.YMap, *, problems: Problems) -> Version | None:
    key = "tosca_definitions_version"
    version, message = parse(data.get(key))
    if version is None:
        problems.at_value(data, key, data.mark, "version", message)
    return version


def check_import(source: loader.Source, *, main_version: Version, problems: Problems) -> None:
    """An imported file of the blueprint's own may not use a newer DSL version than the main file."""
    raw = source.data.get("tosca_definitions_version")
    if raw is None:
        return
    version, message = parse(raw)
    mark = yamlsrc.value_mark(source.data, "tosca_definitions_version", source.mark)
    if version is None:
        problems.add(mark, "version", message)
    elif version.number > main_version.number:
        problems.add(
            mark,
            "version",
            f"this import uses {version.raw}, newer than the main blueprint's {main_version.raw}",
        )


class Gate:
    """Reports features used below the DSL version that introduced them."""

    def __init__(self, version: Version, *, enabled: bool, problems: Problems) -> None:
        self.version = version
        self.enabled = enabled
        self.problems = problems

    def check(
        self, source: loader.Source, mark: yamlsrc.Mark, feature: str, since: tuple[int, int]
    ) -> None:
        if self.enabled and source.own and self.version.number < since:
            self.problems.add(
                mark,
                "version",
                f"{feature} is not supported in {self.version.raw}, it was added in {describe(since)}",
            )
