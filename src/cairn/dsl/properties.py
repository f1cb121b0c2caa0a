"""Property schemas and values: defaults, required properties, types and data types.

Follows Cloudify's rules: a schema property without ``required: false`` must get a value
(from the template or a default) unless ``use_external_resource`` is set; a value whose
type is a data type is merged with that type's defaults, recursively; intrinsic functions
are not type-checked at plan time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cairn.dsl import functions, yamlsrc

OBJECT_TYPES_1_4 = frozenset(
    {
        "blueprint_id",
        "deployment_id",
        "capability_value",
        "scaling_group",
        "node_id",
        "node_type",
        "node_instance",
        "secret_key",
    }
)
OBJECT_TYPES_1_5 = frozenset({"operation_name"})
PRIMITIVE_TYPES = (
    frozenset({"string", "integer", "float", "boolean", "list", "dict", "regex", "textarea"})
    | OBJECT_TYPES_1_4
    | OBJECT_TYPES_1_5
)
_STRINGISH = frozenset({"string", "textarea"}) | OBJECT_TYPES_1_4 | OBJECT_TYPES_1_5
SCHEMA_KEYS = frozenset({"type", "default", "description", "required"})

DataTypes = Mapping[str, Mapping[str, Any]]  # name -> {"properties": schema, ...}


@dataclass
class PropertyError(Exception):
    """A property problem; ``path`` names the property, ``at`` the value at fault."""

    code: str
    message: str
    at: Any = None


def flatten(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Schema -> {name: default} for the properties that have a default."""
    return {k: p["default"] for k, p in schema.items() if isinstance(p, Mapping) and "default" in p}


def simple_value_ok(value: Any, type_name: str) -> bool:
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name in _STRINGISH:
        return True
    if type_name == "regex":
        if not isinstance(value, str):
            return False
        try:
            re.compile(value)
        except re.error:
            return False
        return True
    if type_name == "list":
        return isinstance(value, (list, tuple))
    if type_name == "dict":
        return isinstance(value, dict)
    return False


class Merger:
    """Merges template values into a schema, collecting every problem."""

    def __init__(self, data_types: DataTypes, *, owner: str, kind: str) -> None:
        self.data_types = data_types
        self.owner = owner  # "'web' node", "'web' node relationship", ...
        self.kind = kind  # "type", "relationship type", ...
        self.errors: list[PropertyError] = []

    def merge(
        self,
        instance: Mapping[str, Any],
        schema: Mapping[str, Any],
        *,
        derived: Mapping[str, Any] | None = None,
        path: tuple[str, ...] = (),
        raise_missing: bool = True,
    ) -> dict[str, Any]:
        flat = flatten(schema) if derived is None else {**flatten(schema), **derived}
        for key in instance:
            if key not in schema:
                name = ".".join((*path, str(key)))
                self.errors.append(
                    PropertyError(
                        "unknown-property",
                        f"{self.owner} property {name!r} is not part of the derived {self.kind} "
                        "properties schema",
                        (instance, key),
                    )
                )
        merged = {**flat, **instance}
        external = merged.get("use_external_resource")
        if external and functions.is_function(external):
            self.errors.append(
                PropertyError(
                    "function-not-allowed",
                    "only boolean values are allowed for the use_external_resource property, "
                    "not intrinsic functions",
                    (instance, "use_external_resource"),
                )
            )
            external = None
        result: dict[str, Any] = {}
        for key, prop in schema.items():
            prop = prop if isinstance(prop, Mapping) else {}
            if key not in merged:
                if prop.get("required", True) and not external and raise_missing:
                    name = ".".join((*path, str(key)))
                    self.errors.append(
                        PropertyError(
                            "missing-property",
                            f"{self.owner} does not provide a value for mandatory {name!r} "
                            f"property which is part of its {self.kind} schema",
                            (instance, None),
                        )
                    )
                continue
            result[key] = self.value(
                merged[key],
                prop.get("type"),
                derived=flat.get(key),
                path=(*path, str(key)),
                raise_missing=raise_missing,
                at=(instance, key) if key in instance else None,
            )
        return result

    def value(
        self,
        value: Any,
        type_name: str | None,
        *,
        derived: Any = None,
        path: tuple[str, ...],
        raise_missing: bool = True,
        at: Any = None,
    ) -> Any:
        if type_name is None or functions.is_function(value):
            return value
        if type_name in PRIMITIVE_TYPES:
            if simple_value_ok(value, type_name):
                return value
        elif type_name in self.data_types:
            if isinstance(value, Mapping):
                schema = self.data_types[type_name].get("properties") or {}
                return self.merge(
                    value,
                    schema,
                    derived=derived if isinstance(derived, Mapping) else None,
                    path=path,
                    raise_missing=raise_missing,
                )
        else:
            self.errors.append(
                PropertyError(
                    "unknown-type",
                    f"property {'.'.join(path)!r} has unknown type {type_name!r}",
                    at,
                )
            )
            return value
        self.errors.append(
            PropertyError(
                "type",
                f"property type validation failed in {self.owner}: property {'.'.join(path)!r} "
                f"type is {type_name!r}, yet it was assigned the value {value!r}",
                at,
            )
        )
        return value


def merge_schemas(
    overridden: Mapping[str, Any], overriding: Mapping[str, Any], data_types: DataTypes
) -> dict[str, Any]:
    """A derived type's property schema over its parent's (Cloudify's merge_schemas)."""
    merged = dict(overriding)
    for key, parent_prop in overridden.items():
        if key not in overriding:
            merged[key] = parent_prop
            continue
        prop = overriding[key]
        type_name = prop.get("type") if isinstance(prop.get("type"), str) else None
        parent_default = parent_prop.get("default")
        if (
            type_name is not None
            and type_name == parent_prop.get("type")
            and type_name in data_types
            and type_name not in PRIMITIVE_TYPES
            and parent_default is not None
        ):
            initial = prop.get("initial_default")
            merger = Merger(data_types, owner="illegal state", kind="type")
            default = merger.value(
                {} if initial is None else initial,
                type_name,
                derived=parent_default,
                path=(),
                raise_missing=False,
            )
            merged[key] = {**prop, "default": default}
    return merged


def parse_schema(
    raw: Any, *, data_types: DataTypes, owner: str, problems: list[tuple[Any, str, str]]
) -> dict[str, dict[str, Any]]:
    """A ``properties:`` schema block: {name: {type, default, description, required}}.

    Each property also keeps ``initial_default`` (the default as written) for
    :func:`merge_schemas`; :func:`strip_initial_defaults` removes it afterwards.
    """
    schema: dict[str, dict[str, Any]] = {}
    if raw is None:
        return schema
    if not isinstance(raw, Mapping):
        problems.append((raw, "type", f"{owner}: 'properties' must be a mapping"))
        return schema
    for name, prop in raw.items():
        # an empty definition (``port:``) is refused, as Cloudify's parser refuses it
        if not isinstance(prop, Mapping):
            problems.append(((raw, name), "type", f"{owner}: property {name!r} must be a mapping"))
            continue
        for key in prop:
            if key not in SCHEMA_KEYS:
                problems.append(
                    (
                        (prop, key),
                        "unknown-key",
                        f"{owner}: property {name!r} has unknown key {key!r}",
                    )
                )
        entry = {k: prop[k] for k in ("required", "default", "description", "type") if k in prop}
        entry["initial_default"] = prop.get("default")
        type_name = prop.get("type")
        if type_name is not None and not isinstance(type_name, str):
            problems.append(
                ((prop, "type"), "type", f"{owner}: the type of property {name!r} must be a name")
            )
            entry.pop("type", None)
            type_name = None
        if (
            type_name is not None
            and type_name not in PRIMITIVE_TYPES
            and type_name not in data_types
        ):
            problems.append(
                ((prop, "type"), "unknown-type", f"{owner}: illegal type name {type_name!r}")
            )
        elif type_name is not None and type_name not in PRIMITIVE_TYPES:
            # Cloudify gives every data-typed property a default: its type's defaults.
            merger = Merger(data_types, owner=owner, kind="type")
            initial = prop.get("default")
            entry["default"] = merger.value(
                {} if initial is None else initial,
                type_name,
                path=(str(name),),
                raise_missing=False,
            )
            problems.extend(
                (e.at if e.at is not None else prop, e.code, e.message) for e in merger.errors
            )
        elif (
            prop.get("default") is not None
            and type_name is not None
            and not simple_value_ok(prop["default"], type_name)
            and not functions.is_function(prop["default"])
        ):
            problems.append(
                (
                    (prop, "default"),
                    "type",
                    f"{owner}: default of property {name!r} is not a {type_name}",
                )
            )
        schema[str(name)] = entry
    return schema


def strip_initial_defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: {kk: vv for kk, vv in v.items() if kk != "initial_default"} for k, v in schema.items()
    }


def locate(at: Any, fallback: yamlsrc.Mark) -> yamlsrc.Mark:
    """The position of a problem target: a (container, key) pair or a container."""
    if isinstance(at, tuple) and len(at) == 2:
        container, key = at
        if key is None:
            return yamlsrc.mark_of(container, fallback)
        return yamlsrc.value_mark(container, key, fallback)
    return yamlsrc.mark_of(at, fallback)
