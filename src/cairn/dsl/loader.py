"""Reading a blueprint and its imports, and merging them into one document.

Imports are read breadth first from the main file, as Cloudify does, and merged in that
order: sections that hold named things (node types, node templates, inputs, ...) are merged
name by name, a name defined twice is an error unless it is a standard type (``cloudify.*``)
that a later file redefines; ``description`` and ``metadata`` keep their first value. Every
merged entry remembers the file it came from, which later decides version gating and
locates problems.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cairn.dsl import namespaces, resolver, versions, yamlsrc
from cairn.dsl.problems import Problems

# Sections merged name by name across files (Cloudify's MERGE_NO_OVERRIDE, plus the ones
# it makes mergeable from DSL 1.3 on).
NAMED_SECTIONS = frozenset(
    {
        "node_types",
        "plugins",
        "workflows",
        "relationships",
        "policy_types",
        "groups",
        "policy_triggers",
        "data_types",
    }
)
NAMED_FROM_1_3 = frozenset(
    {
        "inputs",
        "outputs",
        "node_templates",
        "capabilities",
        "blueprint_labels",
        "labels",
        "resource_tags",
    }
)
FIRST_WINS = frozenset({"description", "metadata"})
IGNORED = frozenset({"dsl_definitions", "imports", "tosca_definitions_version"})
TOP_LEVEL = frozenset(
    {
        "tosca_definitions_version",
        "description",
        "imports",
        "dsl_definitions",
        "metadata",
        "inputs",
        "plugins",
        "node_types",
        "relationships",
        "node_templates",
        "policy_types",
        "policy_triggers",
        "groups",
        "policies",
        "workflows",
        "outputs",
        "data_types",
        "capabilities",
        "imported_blueprints",
        "namespaces_mapping",
        "labels",
        "blueprint_labels",
        "deployment_settings",
        "resource_tags",
    }
)
_OWN = (resolver.Kind.MAIN, resolver.Kind.LOCAL)


@dataclass(eq=False)
class Source:
    resolved: resolver.Resolved
    data: yamlsrc.YMap
    namespace: str | None = None
    properties: Any = None
    parent: Source | None = None
    blueprint_id: str | None = None

    @property
    def kind(self) -> resolver.Kind:
        return self.resolved.kind

    @property
    def own(self) -> bool:
        """The blueprint's own files: the only ones gated by its DSL version."""
        return self.resolved.kind in _OWN

    @property
    def mark(self) -> yamlsrc.Mark:
        return self.data.mark


@dataclass(eq=False)
class Entry:
    """One named thing of a section (a node type, an input, ...) and where it came from."""

    name: str
    value: Any
    source: Source
    key_mark: yamlsrc.Mark
    container: Any = None  # the section mapping it was written in (for value marks)

    @property
    def mark(self) -> yamlsrc.Mark:
        return yamlsrc.mark_of(self.value, self.key_mark)


@dataclass(eq=False)
class Merged:
    main: Source
    version: versions.Version
    sections: dict[str, dict[str, Entry]] = field(default_factory=dict)
    singles: dict[str, Entry] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    namespaces_mapping: dict[str, str] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Entry]:
        return self.sections.get(name, {})


def read_file(path: str, *, label: str, problems: Problems) -> yamlsrc.YMap | None:
    mark = yamlsrc.Mark(label, 1, 1)
    try:
        with open(path, "rb") as handle:
            data = handle.read(yamlsrc.MAX_FILE_BYTES + 1)
    except OSError as exc:
        problems.add(mark, "io", f"cannot read {label}: {exc.strerror or exc}")
        return None
    try:
        document = yamlsrc.load(yamlsrc.decode(data, file=label), file=label)
    except yamlsrc.YamlProblem as exc:
        problems.add(exc.mark, exc.code, exc.message)
        return None
    if document is None:
        document = yamlsrc.YMap(mark)
    if not isinstance(document, yamlsrc.YMap):
        problems.add(yamlsrc.mark_of(document, mark), "type", "a blueprint file must be a mapping")
        return None
    return document


_STDLIB: dict[tuple[str, str], yamlsrc.YMap] = {}


def _read_stdlib(resolved: resolver.Resolved, problems: Problems) -> yamlsrc.YMap | None:
    """The standard types, read once per process (they ship with Cairn and never change).

    Callers get a copy: merging may edit what it is given.
    """
    key = (resolved.path, resolved.label)
    if key not in _STDLIB:
        data = read_file(resolved.path, label=resolved.label, problems=problems)
        if data is None:
            return None
        _STDLIB[key] = data
    copied: yamlsrc.YMap = yamlsrc.copy(_STDLIB[key])
    return copied


def load(path: str, *, options: resolver.ParseOptions, problems: Problems) -> Merged | None:
    """The main file and every import, merged; None when nothing sound can be built."""
    path = os.path.abspath(path)
    data = read_file(path, label=path, problems=problems)
    if data is None:
        return None
    main = Source(resolver.Resolved(path=path, kind=resolver.Kind.MAIN, label=path), data)
    version = versions.read(data, problems=problems)
    if version is None:
        return None
    merged = Merged(main=main, version=version)
    for source in _walk_imports(main, version=version, options=options, problems=problems):
        _check_top_level(source, problems)
        if source.namespace and source.kind is not resolver.Kind.STDLIB:
            namespaces.apply(source.data, source.namespace)
        if source.blueprint_id and source.namespace:
            merged.namespaces_mapping[source.namespace] = source.blueprint_id
        merged.sources.append(source)
        _merge(merged, source, problems)
    return merged


def _import_items(source: Source, problems: Problems) -> list[tuple[str, Any, yamlsrc.Mark]]:
    imports = source.data.get("imports")
    if imports is None:
        return []
    if not isinstance(imports, list):
        problems.at_value(source.data, "imports", source.mark, "type", "'imports' must be a list")
        return []
    items: list[tuple[str, Any, yamlsrc.Mark]] = []
    seen: set[str] = set()
    for index, item in enumerate(imports):
        mark = yamlsrc.value_mark(imports, index, source.mark)
        properties = None
        if isinstance(item, dict):
            if len(item) != 1:
                problems.add(mark, "import", "an import with properties is a single-entry mapping")
                continue
            item, properties = next(iter(item.items()))
        if not isinstance(item, str) or not item.strip():
            problems.add(mark, "type", "an import must be a string")
            continue
        if item in seen:
            problems.add(mark, "import", f"duplicate import {item!r}")
            continue
        seen.add(item)
        items.append((item, properties, mark))
    return items


def _walk_imports(
    main: Source, *, version: versions.Version, options: resolver.ParseOptions, problems: Problems
) -> list[Source]:
    root_dir = os.path.dirname(main.resolved.path)
    loaded: dict[tuple[str, str | None], Source] = {(main.resolved.path, None): main}
    order = [main]
    queue = deque([main])
    while queue:
        parent = queue.popleft()
        for url, properties, mark in _import_items(parent, problems):
            namespace, bare = resolver.split_namespace(url)
            if parent.namespace and namespace:
                namespace = f"{parent.namespace}{resolver.NAMESPACE_DELIMITER}{namespace}"
            else:
                namespace = namespace or parent.namespace
            try:
                resolved = resolver.resolve(
                    bare,
                    importer=parent.resolved,
                    root_dir=root_dir,
                    dsl_short=version.short,
                    options=options,
                )
            except resolver.ImportFailed as exc:
                problems.add(mark, exc.code, exc.message)
                continue
            if resolved.kind is resolver.Kind.STDLIB:
                namespace = None  # standard types are never namespaced
            # Cloudify tells imports apart by URL: the same plugin imported twice with
            # different version constraints is two imports (and a conflict), not one.
            key = (
                resolved.label if resolved.kind is resolver.Kind.PLUGIN else resolved.path,
                namespace,
            )
            if key in loaded:
                if _is_ancestor(loaded[key], parent):
                    problems.add(mark, "import-cycle", f"import {url!r} makes a cycle")
                continue
            if resolved.kind is resolver.Kind.STDLIB:
                data = _read_stdlib(resolved, problems)
            else:
                data = read_file(resolved.path, label=resolved.label, problems=problems)
            if data is None:
                continue
            source = Source(
                resolved, data, namespace=namespace, properties=properties, parent=parent
            )
            if resolved.kind is resolver.Kind.BLUEPRINT:
                _register_blueprint(source, url, mark, problems)
            if source.own and options.validate_version:
                versions.check_import(source, main_version=version, problems=problems)
            loaded[key] = source
            order.append(source)
            queue.append(source)
    return order


def _is_ancestor(candidate: Source, node: Source | None) -> bool:
    while node is not None:
        if node is candidate:
            return True
        node = node.parent
    return False


def _register_blueprint(source: Source, url: str, mark: yamlsrc.Mark, problems: Problems) -> None:
    source.blueprint_id = resolver.split_namespace(url)[1].partition(":")[2].strip()
    if not source.namespace:
        problems.add(mark, "import", f"blueprint import {url!r} needs a namespace (ns--{url})")


# Top-level sections whose value is a mapping of named things (or empty).
MAPPING_SECTIONS = (NAMED_SECTIONS | NAMED_FROM_1_3) | {
    "metadata",
    "policies",
    "deployment_settings",
    "namespaces_mapping",
}


# Cloudify refuses these written empty (it takes the other sections empty)
_NOT_NULL = frozenset({"metadata", "workflows"})


def _kind(value: Any) -> str:
    for kind, name in (
        (dict, "a mapping"),
        (list, "a list"),
        (str, "a string"),
        (bool, "a boolean"),
    ):
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, (int, float)) else type(value).__name__


def _check_top_level(source: Source, problems: Problems) -> None:
    for key in list(source.data):
        value = source.data[key]
        if key in _NOT_NULL and value is None:
            problems.at_key(
                source.data, key, source.mark, "type", f"{key!r} must be a mapping, not empty"
            )
            del source.data[key]
            continue
        if key in MAPPING_SECTIONS and value is not None and not isinstance(value, dict):
            problems.at_value(
                source.data,
                key,
                source.mark,
                "type",
                f"{key!r} must be a mapping, not {_kind(value)}",
            )
            del source.data[key]
            continue
        if key not in TOP_LEVEL:
            allowed = ", ".join(sorted(TOP_LEVEL))
            problems.at_key(
                source.data,
                key,
                source.mark,
                "unknown-key",
                f"unknown top-level key {key!r} (allowed: {allowed})",
            )


def _merge(merged: Merged, source: Source, problems: Problems) -> None:
    named = NAMED_SECTIONS | (NAMED_FROM_1_3 if merged.version.number > (1, 2) else frozenset())
    for key, value in source.data.items():
        if key in IGNORED or key not in TOP_LEVEL:
            continue
        key_at = yamlsrc.key_mark(source.data, key, source.mark)
        if key in FIRST_WINS or not isinstance(value, dict):
            if key in merged.singles or key in merged.sections:
                if key not in FIRST_WINS:
                    problems.add(key_at, "import", f"{key!r} is defined in more than one file")
                continue
            merged.singles[key] = Entry(key, value, source, key_at, source.data)
            continue
        if key in merged.sections and key not in named:
            problems.add(key_at, "import", f"{key!r} is defined in more than one file")
            continue
        section = merged.sections.setdefault(key, {})
        for name, item in value.items():
            _merge_entry(
                section,
                key,
                Entry(
                    str(name),
                    item,
                    source,
                    yamlsrc.key_mark(value, name, key_at),
                    value,
                ),
                problems,
            )


def _merge_entry(section: dict[str, Entry], key: str, entry: Entry, problems: Problems) -> None:
    existing = section.get(entry.name)
    overridable = entry.source.kind is resolver.Kind.STDLIB or entry.name.startswith("cloudify.")
    if existing is None or overridable:
        section[entry.name] = entry
        return
    if key == "node_templates" and _merge_template(existing, entry):
        return
    if key == "workflows" and isinstance(existing.value, dict) and isinstance(entry.value, dict):
        for sub, val in entry.value.items():
            existing.value.setdefault(sub, val)
        return
    if key in ("labels", "blueprint_labels", "resource_tags"):
        return
    problems.add(
        entry.key_mark,
        "duplicate",
        f"{key} {entry.name!r} is already defined at {_where(existing)}",
    )


def _merge_template(existing: Entry, entry: Entry) -> bool:
    """Cloudify lets a file add relationships to a template another file defines."""
    old, new = existing.value, entry.value
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    if "relationships" not in old:
        return False
    only_rels = "relationships" in new and len(new) == 1
    if len(old) == 1 and ("type" in new or only_rels):
        for sub, val in new.items():
            if sub == "relationships" and isinstance(val, list):
                old["relationships"].extend(val)
            elif isinstance(val, (dict, str)):
                old[sub] = val
        return True
    if only_rels and isinstance(new["relationships"], list):
        old["relationships"].extend(new["relationships"])
        return True
    return False


def _where(entry: Entry) -> str:
    return f"{entry.key_mark.file}:{entry.key_mark.line}:{entry.key_mark.col}"
