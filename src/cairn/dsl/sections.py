"""The plan sections that are not types or node templates: inputs, outputs, workflows, ...

Each function checks one section the way Cloudify 7's element schemas do (a mapping with
known keys, each key's value of the right kind, required keys present, version-gated keys
used only from their DSL version on) and returns the section in the shape of Cloudify's
plan, so the two can be compared as they are. Unlike Cloudify, which stops at the first
problem, every problem is recorded and the function goes on with what is sound.

Values stay the YAML values they were read as (dict and list subclasses that remember
where they were written), so later stages can still locate problems inside them.
Workflows live in :mod:`cairn.dsl.workflows`, groups, policies and scaling groups in
:mod:`cairn.dsl.policies`, deployment settings in :mod:`cairn.dsl.schedules`; they share
the checks defined here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cairn.dsl import constraints, functions, loader, versions, yamlsrc
from cairn.dsl.problems import Problems

# What a leaf value may be, by Cloudify's isinstance checks (bool is an int to Python,
# so Cloudify accepts ``true`` where it wants an integer; so do we).
KINDS: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "list": (list,),
    "dict": (dict,),
    "string or dict": (str, dict),
    "primitive": (list, bool, int, float, str, dict),
}
_A_KIND = {
    "string": "a string",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "list": "a list",
    "dict": "a mapping",
    "string or dict": "a string or a mapping",
    "primitive": "a string, number, boolean, list or mapping",
}

INPUT_FIELDS: Mapping[str, str | None] = {
    "required": "boolean",
    "default": "primitive",
    "description": "string",
    "type": "string",
    "item_type": "string",
    "constraints": "list",
    "display_label": "string",
    "hidden": "boolean",
    "display": "dict",
}
PARAMETER_FIELDS: Mapping[str, str | None] = {
    k: INPUT_FIELDS[k]
    for k in ("required", "default", "description", "type", "item_type", "constraints")
}
_FIELD_SINCE = {"required": (1, 2), "display_label": (1, 3), "hidden": (1, 3), "item_type": (1, 4)}
VALUE_FIELDS: Mapping[str, str | None] = {"description": "string", "value": "primitive"}

# --- shared checks --------------------------------------------------------------------


def kind_of(value: Any) -> str:
    """A value's type in the words of the DSL."""
    for name, kind in (
        ("boolean", bool),
        ("string", str),
        ("integer", int),
        ("float", float),
        ("dict", dict),
        ("list", list),
    ):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


def check_fields(
    raw: Any, fields: Mapping[str, str | None], *, what: str, at: yamlsrc.Mark, problems: Problems
) -> bool:
    """``raw`` is a mapping of known keys whose values are of their kind (None passes).

    Returns whether ``raw`` is a mapping at all; a kind of None leaves the value to the caller.
    """
    if not isinstance(raw, dict):
        problems.add(at, "type", f"{what} must be a mapping, not {kind_of(raw)}")
        return False
    for key, value in raw.items():
        if key not in fields:
            allowed = ", ".join(fields)
            problems.at_key(
                raw, key, at, "unknown-key", f"{what} has unknown key {key!r} (allowed: {allowed})"
            )
            continue
        kind = fields[key]
        if kind is not None and value is not None and not isinstance(value, KINDS[kind]):
            problems.at_value(
                raw,
                key,
                at,
                "type",
                f"{what}: {key!r} must be {_A_KIND[kind]}, not {kind_of(value)}",
            )
    return True


def require(
    raw: Mapping[str, Any],
    keys: Iterable[str],
    *,
    what: str,
    at: yamlsrc.Mark,
    problems: Problems,
) -> bool:
    """Every key is present with a value (Cloudify: a required key may not be null)."""
    ok = True
    for key in keys:
        if raw.get(key) is None:
            mark = yamlsrc.key_mark(raw, key, at) if key in raw else at
            problems.add(mark, "required", f"{what} needs {key!r}")
            ok = False
    return ok


def entries(merged: loader.Merged, section: str, problems: Problems) -> dict[str, loader.Entry]:
    """A named section's entries; a section written as something else than a mapping is reported."""
    single = merged.singles.get(section)
    if single is not None and single.value is not None and section not in loader.FIRST_WINS:
        at = yamlsrc.value_mark(single.container, section, single.key_mark)
        problems.add(at, "type", f"{section!r} must be a mapping, not {kind_of(single.value)}")
    return merged.section(section)


def whole(merged: loader.Merged, section: str) -> tuple[Any, yamlsrc.Mark] | None:
    """A section that is not merged name by name, as written, and where; None when absent.

    The loader keeps a mapping section as named entries and anything else as a single
    value; either way it comes from one file.
    """
    single = merged.singles.get(section)
    if single is not None:
        if single.value is None:
            return None
        return single.value, yamlsrc.value_mark(single.container, section, single.key_mark)
    named = merged.section(section)
    if not named:
        return None
    container = next(iter(named.values())).container
    return container, yamlsrc.mark_of(container, merged.main.mark)


def gate_section(
    merged: loader.Merged, section: str, gate: versions.Gate | None, since: tuple[int, int]
) -> None:
    """A whole section that needs a DSL version, checked in every file that writes it."""
    if gate is None:
        return
    sources = [e.source for e in merged.section(section).values()]
    single = merged.singles.get(section)
    if single is not None and single.value is not None:
        sources.append(single.source)
    for source in dict.fromkeys(sources):
        mark = yamlsrc.key_mark(source.data, section, source.mark)
        gate.check(source, mark, section, since)


# --- description, metadata ------------------------------------------------------------


def description(
    merged: loader.Merged, problems: Problems, *, gate: versions.Gate | None = None
) -> str | None:
    entry = merged.singles.get("description")
    if entry is None or entry.value is None:
        return None
    if gate is not None:
        gate.check(entry.source, entry.key_mark, "description", (1, 2))
    if not isinstance(entry.value, str):
        at = yamlsrc.value_mark(entry.container, "description", entry.key_mark)
        problems.add(at, "type", f"'description' must be a string, not {kind_of(entry.value)}")
        return None
    return entry.value


def metadata(merged: loader.Merged, problems: Problems) -> dict[str, Any]:
    entry = merged.singles.get("metadata")
    if entry is None or entry.value is None:
        return {}
    if not isinstance(entry.value, dict):
        at = yamlsrc.value_mark(entry.container, "metadata", entry.key_mark)
        problems.add(at, "type", f"'metadata' must be a mapping, not {kind_of(entry.value)}")
        return {}
    return entry.value


# --- inputs and workflow parameters ---------------------------------------------------


class SchemaProperty:
    """One input or workflow parameter definition (Cloudify's InputSchemaProperty)."""

    def __init__(
        self,
        raw: Any,
        *,
        what: str,
        at: yamlsrc.Mark,
        source: loader.Source,
        data_types: Mapping[str, Any],
        gate: versions.Gate,
        problems: Problems,
    ) -> None:
        self.raw, self.what, self.at, self.source = raw, what, at, source
        self.data_types, self.gate, self.problems = data_types, gate, problems

    def parse(self, fields: Mapping[str, str | None], *, is_input: bool) -> dict[str, Any] | None:
        raw = self.raw
        if raw is None:
            return {}
        if not check_fields(raw, fields, what=self.what, at=self.at, problems=self.problems):
            return None
        for key, since in _FIELD_SINCE.items():
            if key in fields and raw.get(key) is not None:
                self.gate.check(self.source, yamlsrc.key_mark(raw, key, self.at), key, since)
        type_ok = self._type()
        self._item_type()
        self._constraints(allow_error_message=is_input)
        result = {k: v for k, v in raw.items() if k in fields}
        if type_ok and raw.get("default") is not None:
            result["default"] = self._default()
        if is_input:
            self._display()
            self._hidden()
        return result

    def _type(self) -> bool:
        type_name = self.raw.get("type")
        if type_name == "" and self.raw.get("default") is not None:
            at = yamlsrc.value_mark(self.raw, "type", self.at)
            self.problems.add(at, "unknown-type", f"{self.what}: a default needs a type name")
            return False
        if not type_name or not isinstance(type_name, str):
            return type_name is None
        at = yamlsrc.value_mark(self.raw, "type", self.at)
        if type_name not in constraints.INPUT_TYPES and type_name not in self.data_types:
            self.problems.add(at, "unknown-type", f"{self.what}: illegal type name {type_name!r}")
            return False
        since = (1, 4) if type_name in constraints.OBJECT_TYPES_1_4 else None
        since = (1, 5) if type_name in constraints.OBJECT_TYPES_1_5 else since
        if since:
            self.gate.check(self.source, at, f"type {type_name!r}", since)
        return True

    def _item_type(self) -> None:
        item_type = self.raw.get("item_type")
        if not item_type or not isinstance(item_type, str):
            return
        at = yamlsrc.value_mark(self.raw, "item_type", self.at)
        type_name = self.raw.get("type")
        if type_name != "list":
            self.problems.add(
                at,
                "item-type",
                f"{self.what}: item_type is only for type 'list', not {type_name!r}",
            )
        elif item_type not in constraints.INPUT_TYPES:
            self.problems.add(at, "unknown-type", f"{self.what}: illegal item_type {item_type!r}")

    def _constraints(self, *, allow_error_message: bool) -> None:
        items = self.raw.get("constraints")
        if items is None and "constraints" in self.raw:
            at = yamlsrc.value_mark(self.raw, "constraints", self.at)
            self.problems.add(at, "type", f"{self.what}: 'constraints' must be a list, not empty")
            return
        if not isinstance(items, list):
            return
        for index, item in enumerate(items):
            at = yamlsrc.value_mark(items, index, self.at)
            if isinstance(item, dict) and len(item) > 1:
                if not allow_error_message or constraints.ERROR_MESSAGE_KEY not in item:
                    self.problems.add(
                        at,
                        "constraint",
                        f"{self.what}: each constraint operator must be in its own list item",
                    )
                    continue
                key_at = yamlsrc.key_mark(item, constraints.ERROR_MESSAGE_KEY, at)
                self.gate.check(self.source, key_at, "a constraint's error_message", (1, 5))
            for message in constraints.check_definition(item):
                self.problems.add(at, "constraint", f"{self.what}: {message}")

    def _default(self) -> Any:
        default, type_name = self.raw["default"], self.raw.get("type")
        label = f"{self.what} default"
        found = constraints.type_problems(default, type_name, self.data_types, label)
        at = yamlsrc.value_mark(self.raw, "default", self.at)
        for message in found:
            self.problems.add(at, "type", message)
        if found:
            return default
        return constraints.complete_value(default, type_name, self.data_types)

    def _display(self) -> None:
        display = self.raw.get("display")
        if display is None:
            return
        at = yamlsrc.value_mark(self.raw, "display", self.at)
        if not check_fields(
            display,
            {"rows": "integer"},
            what=f"{self.what}: 'display'",
            at=at,
            problems=self.problems,
        ):
            return
        if self.raw.get("type") != "textarea":
            self.problems.add(
                at,
                "display",
                f"{self.what}: 'display' is only for type 'textarea', not {self.raw.get('type')!r}",
            )

    def _hidden(self) -> None:
        raw = self.raw
        if raw and raw.get("required", True) and raw.get("hidden", False) and "default" not in raw:
            self.problems.add(
                self.at,
                "hidden-required",
                f"{self.what} is hidden and required, so it needs a default",
            )


def inputs(
    merged: loader.Merged,
    *,
    data_types: Mapping[str, Any],
    gate: versions.Gate,
    problems: Problems,
) -> dict[str, Any]:
    """``inputs``: {name: {type, default, description, required, constraints, ...}}."""
    result: dict[str, Any] = {}
    for name, entry in entries(merged, "inputs", problems).items():
        what = f"input {name!r}"
        prop = SchemaProperty(
            entry.value,
            what=what,
            at=entry.key_mark,
            source=entry.source,
            data_types=data_types,
            gate=gate,
            problems=problems,
        )
        parsed = prop.parse(INPUT_FIELDS, is_input=True)
        if parsed is None:
            continue
        _check_default_value(name, entry, parsed, data_types, problems)
        result[name] = parsed
    return result


def _check_default_value(
    name: str,
    entry: loader.Entry,
    parsed: Mapping[str, Any],
    data_types: Mapping[str, Any],
    problems: Problems,
) -> None:
    """Cloudify checks a default against the input's constraints when it parses the blueprint."""
    if "default" not in parsed:
        return
    at = yamlsrc.value_mark(entry.value, "default", entry.key_mark)
    type_name = parsed.get("type")
    if type_name in constraints.OBJECT_TYPES:
        # Cloudify would have to ask its manager whether the default names a real object.
        problems.add(at, "default", f"input {name!r} of type {type_name!r} cannot have a default")
        return
    default, item_type = parsed["default"], parsed.get("item_type")
    listed = type_name == "list" and bool(item_type)
    if default is None and not (parsed.get("constraints") or listed):
        return  # Cloudify checks a null default only against constraints and item types
    if default is not None and constraints.type_problems(default, type_name, data_types, ""):
        return  # reported with the definition
    if listed and isinstance(default, list) and isinstance(item_type, str):
        wrong = [i for i in default if not constraints.simple_type_ok(i, item_type)]
        for item in wrong:
            problems.add(
                at,
                "type",
                f"input {name!r} default: item {functions.show(item)} "
                f"is not of item_type {item_type!r}",
            )
        if wrong:
            return
    for message in constraints.check_value(name, default, parsed, data_types=data_types):
        problems.add(at, "constraint", f"default of {message}")


# --- outputs, capabilities, labels, resource tags -------------------------------------


def _values(merged: loader.Merged, section: str, what: str, problems: Problems) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, entry in entries(merged, section, problems).items():
        raw = entry.value
        if raw is None:
            result[name] = {}
            continue
        label = f"{what} {name!r}"
        if not check_fields(raw, VALUE_FIELDS, what=label, at=entry.key_mark, problems=problems):
            continue
        require(raw, ("value",), what=label, at=entry.key_mark, problems=problems)
        result[name] = {k: v for k, v in raw.items() if k in VALUE_FIELDS}
    return result


def outputs(
    merged: loader.Merged, *, gate: versions.Gate | None = None, problems: Problems
) -> dict[str, Any]:
    """``outputs``: {name: {description?, value}} (Cloudify gates neither section)."""
    return _values(merged, "outputs", "output", problems)


def capabilities(
    merged: loader.Merged, *, gate: versions.Gate | None = None, problems: Problems
) -> dict[str, Any]:
    return _values(merged, "capabilities", "capability", problems)


def labels(
    merged: loader.Merged, *, key: str, gate: versions.Gate | None = None, problems: Problems
) -> dict[str, Any]:
    """``labels`` or ``blueprint_labels``: {key: {values: [...]}}.

    A blueprint label is set when the blueprint is uploaded, so its values are plain
    strings; a deployment label may also use intrinsic functions, but not ``get_attribute``
    (labels are set when the deployment is created, before any runtime property exists).
    Cloudify's parser does not check the label keys themselves.
    """
    of_blueprint = key == "blueprint_labels"
    result: dict[str, Any] = {}
    for name, entry in entries(merged, key, problems).items():
        what = f"{'blueprint label' if of_blueprint else 'label'} {name!r}"
        raw = entry.value
        if raw is None:
            problems.add(entry.key_mark, "required", f"{what} needs 'values'")
            continue
        fields = {"values": "list"}
        if not check_fields(raw, fields, what=what, at=entry.key_mark, problems=problems):
            continue
        if not require(raw, ("values",), what=what, at=entry.key_mark, problems=problems):
            continue
        values = raw["values"]
        if isinstance(values, list):
            for index, value in enumerate(values):
                problem = _label_value_problem(value, of_blueprint=of_blueprint)
                if problem:
                    at = yamlsrc.value_mark(values, index, entry.key_mark)
                    problems.add(at, "label", f"{what}: {problem}")
        result[name] = {"values": values}
    return result


def _label_value_problem(value: Any, *, of_blueprint: bool) -> str | None:
    if of_blueprint:
        return None if isinstance(value, str) else f"a value must be a string, not {kind_of(value)}"
    if not isinstance(value, (str, dict)):
        return f"a value must be a string or an intrinsic function, not {kind_of(value)}"
    if isinstance(value, dict) and "get_attribute" in value:
        return "a value cannot be a runtime property (get_attribute)"
    return None


def resource_tags(
    merged: loader.Merged, *, gate: versions.Gate | None = None, problems: Problems
) -> dict[str, Any]:
    """``resource_tags``: {key: value}, from DSL 1.3 on."""
    gate_section(merged, "resource_tags", gate, (1, 3))
    result: dict[str, Any] = {}
    for name, entry in entries(merged, "resource_tags", problems).items():
        value = entry.value
        if value is not None and not isinstance(value, KINDS["primitive"]):
            at = yamlsrc.mark_of(value, entry.key_mark)
            problems.add(
                at,
                "type",
                f"resource tag {name!r} must be {_A_KIND['primitive']}, not {kind_of(value)}",
            )
            continue
        result[name] = value
    return result
