"""Where an import points: a file on disk, chosen without ever touching the network.

Cloudify resolves imports over HTTP and from its manager's file server. Cairn works
air-gapped, so every import form maps to a local file:

* ``cloudify/types/types.yaml`` and ``http(s)://<any host>/spec/cloudify/<ver>/types.yaml``
  -> Cairn's standard types library for the blueprint's DSL version;
* ``cairn/types/resources.yaml`` -> Cairn's built-in resource node types;
* ``plugin:NAME[?version=...]`` -> ``NAME/`` on the plugin path, picking the YAML a
  Cloudify manager would pick for the DSL version;
* well-known plugin URLs (``.../spec/<name>-plugin/<ver>/plugin.yaml``, GitHub raw files)
  -> the same plugin folders;
* ``blueprint:ID`` -> a file named in :attr:`ParseOptions.blueprint_imports`;
* relative paths -> next to the importing file, never outside the blueprint's folder or the
  configured resource paths (symbolic links included).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from cairn.dsl import stdlib

_TYPES_URL = re.compile(r"^https?://[^/]+/spec/cloudify/[^/]+/types\.ya?ml$")
_SPEC_PLUGIN_URL = re.compile(
    r"^https?://[^/]+/spec/([A-Za-z0-9_.-]+?)-plugin/[^/]+/([^/]+\.ya?ml)$"
)
_GITHUB_URL = re.compile(
    r"^https?://(?:raw\.githubusercontent\.com/[^/]+/([^/]+)/[^/]+/|"
    r"github\.com/[^/]+/([^/]+)/(?:raw|blob)/[^/]+/)(.+\.ya?ml)$"
)
_PLUGIN_VERSIONED = re.compile(r"_(\d_\d+)\.ya?ml$")
TYPES_IMPORT = "cloudify/types/types.yaml"
NAMESPACE_DELIMITER = "--"


class Kind(Enum):
    """Where a file comes from; decides version gating and namespacing rules."""

    MAIN = "main"
    LOCAL = "local"  # the blueprint's own files, imported by relative path
    STDLIB = "stdlib"
    PLUGIN = "plugin"
    BLUEPRINT = "blueprint"  # another blueprint, imported with blueprint:ID


@dataclass(frozen=True, kw_only=True)
class ParseOptions:
    """How to find what a blueprint refers to."""

    plugin_paths: tuple[str, ...] = ()
    resource_paths: tuple[str, ...] = ()
    blueprint_imports: Mapping[str, str] = field(default_factory=dict)
    validate_version: bool = True


@dataclass(frozen=True, kw_only=True)
class Resolved:
    path: str
    kind: Kind
    label: str  # how the file is named in messages


class ImportFailed(Exception):
    def __init__(self, message: str, *, code: str = "import") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def split_namespace(url: str) -> tuple[str | None, str]:
    """``ns--path`` -> (``ns``, ``path``), splitting at the last delimiter as Cloudify does."""
    namespace, _, rest = url.rpartition(NAMESPACE_DELIMITER)
    return (namespace, rest) if namespace else (None, url)


def resolve(
    url: str,
    *,
    importer: Resolved,
    root_dir: str,
    dsl_short: str,
    options: ParseOptions,
) -> Resolved:
    """The file an import names, or :class:`ImportFailed` saying why there is none."""
    url = url.strip()
    if url == TYPES_IMPORT or _TYPES_URL.match(url):
        path = stdlib.path_for(dsl_short)
        return Resolved(path=str(path), kind=Kind.STDLIB, label=url)
    if url == stdlib.RESOURCES_IMPORT:
        return Resolved(path=str(stdlib.resources_path()), kind=Kind.STDLIB, label=url)
    if url.startswith("plugin:"):
        name = url[len("plugin:") :].partition("?")[0].strip()
        return _plugin(name, None, url, dsl_short, options)
    if url.startswith("blueprint:"):
        return _blueprint(url, options)
    match = _SPEC_PLUGIN_URL.match(url)
    if match:
        name = match.group(1)
        name = name if name.startswith("cloudify-") else f"cloudify-{name}"
        return _plugin(f"{name}-plugin", match.group(2), url, dsl_short, options)
    match = _GITHUB_URL.match(url)
    if match:
        return _plugin(match.group(1) or match.group(2), match.group(3), url, dsl_short, options)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url):
        raise ImportFailed(
            f"cannot import {url!r}: Cairn never downloads; put the file next to the "
            "blueprint or its plugin on the plugin path"
        )
    return _local(url, importer=importer, root_dir=root_dir, dsl_short=dsl_short, options=options)


def _local(
    url: str, *, importer: Resolved, root_dir: str, dsl_short: str, options: ParseOptions
) -> Resolved:
    if os.path.isabs(url):
        raise ImportFailed(
            f"import {url!r} is an absolute path; imports are relative to the blueprint",
            code="path-escape",
        )
    base = os.path.dirname(importer.path)
    roots = [root_dir, *options.resource_paths]
    if importer.kind in (Kind.PLUGIN, Kind.BLUEPRINT):
        roots.append(base)
    stem, ext = os.path.splitext(url)
    candidates = [f"{stem}_{dsl_short}{ext}", url] if dsl_short else [url]
    for base_dir in [base, *options.resource_paths]:
        for candidate in candidates:
            path = os.path.normpath(os.path.join(base_dir, candidate))
            # containment first: whether a file outside exists is none of the blueprint's business
            if not _inside_any(path, roots):
                raise ImportFailed(
                    f"import {url!r} leads outside the blueprint's folder", code="path-escape"
                )
            if os.path.isfile(path):
                kind = Kind.LOCAL if importer.kind in (Kind.MAIN, Kind.LOCAL) else importer.kind
                return Resolved(path=path, kind=kind, label=path)
    raise ImportFailed(f"cannot import {url!r}: no such file next to {importer.label!r}")


def _inside_any(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path)
    for root in roots:
        real_root = os.path.realpath(root)
        if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep):
            return True
    return False


def _plugin(
    name: str, filename: str | None, url: str, dsl_short: str, options: ParseOptions
) -> Resolved:
    if not name or "/" in name or name in (".", ".."):
        raise ImportFailed(f"invalid plugin import {url!r}")
    for directory in options.plugin_paths:
        folder = os.path.join(directory, name)
        if not os.path.isdir(folder):
            continue
        chosen = _plugin_yaml(folder, filename, dsl_short)
        if chosen:
            return Resolved(path=chosen, kind=Kind.PLUGIN, label=url)
    where = ", ".join(options.plugin_paths) or "(empty: set --plugin-path or CAIRN_PLUGIN_PATH)"
    raise ImportFailed(f"cannot import {url!r}: no plugin {name!r} on the plugin path {where}")


def _plugin_yaml(folder: str, filename: str | None, dsl_short: str) -> str | None:
    """The YAML a Cloudify 7 manager serves for a plugin and a DSL version."""
    if filename and filename not in ("plugin.yaml", "plugin.yml"):
        path = os.path.join(folder, filename)
        return path if os.path.isfile(path) else None
    yamls = sorted(f for f in os.listdir(folder) if f.endswith(".yaml") and f.startswith("plugin"))
    versions: dict[str, str] = {}
    unversioned: list[str] = []
    for name in yamls:
        if dsl_short and name.endswith(f"{dsl_short}.yaml"):
            return os.path.join(folder, name)
        match = _PLUGIN_VERSIONED.search(name)
        if match:
            versions[match.group(1)] = name
        else:
            unversioned.append(name)
    if dsl_short:
        versions = {v: f for v, f in versions.items() if _version_key(v) <= _version_key(dsl_short)}
    if versions:
        return os.path.join(folder, versions[max(versions, key=_version_key)])
    if "plugin.yaml" in unversioned:
        return os.path.join(folder, "plugin.yaml")
    return os.path.join(folder, unversioned[0]) if unversioned else None


def _version_key(short: str) -> tuple[int, ...]:
    return tuple(int(part) for part in short.split("_") if part.isdigit())


def _blueprint(url: str, options: ParseOptions) -> Resolved:
    blueprint_id = url[len("blueprint:") :].strip()
    path = options.blueprint_imports.get(blueprint_id)
    if not path:
        raise ImportFailed(
            f"cannot import {url!r}: no blueprint {blueprint_id!r} is known "
            "(upload it first, or name its file with --blueprint-import ID=PATH)"
        )
    return Resolved(path=os.path.abspath(path), kind=Kind.BLUEPRINT, label=url)
