"""Which runner carries out an operation, by the plugin that declares it.

Cloudify names a plugin in each operation's implementation (``script``, ``agent``, a
plugin's own name), namespaced imports prefix it (``ns--script``). Cairn runs the script
plugin itself, has built-in operations under ``cairn``, and treats Cloudify's ``agent``
plugin (the agent installer of ``cloudify.nodes.Compute``) as done: Cairn brings its own
agents. Cairn's built-in resource types (``cairn/types/resources.yaml``) declare the
``cairn_resources`` plugin, run in-process but off the caller's thread (their checks may take
seconds). Any other plugin is not available.
"""

from __future__ import annotations

from enum import StrEnum

SCRIPT = "script"
BUILTIN = "cairn"
AGENT = "agent"
RESOURCES = "cairn_resources"


class PluginKind(StrEnum):
    SCRIPT = "script"  # a subprocess: scripts/create.sh, inline script_source
    BUILTIN = "builtin"  # in-process: cairn.noop, ...
    AGENT = "agent"  # Cloudify's agent installer: nothing to do
    RESOURCE = "resource"  # in-process, in a worker thread: cairn_resources.file.create, ...
    MISSING = "missing"  # a plugin Cairn does not have


def base_name(plugin: str) -> str:
    """``ns--script`` -> ``script``."""
    return plugin.rsplit("--", 1)[-1]


def kind_of(plugin: str) -> PluginKind:
    name = base_name(plugin)
    if name == SCRIPT:
        return PluginKind.SCRIPT
    if name == BUILTIN:
        return PluginKind.BUILTIN
    if name == AGENT:
        return PluginKind.AGENT
    if name == RESOURCES:
        return PluginKind.RESOURCE
    return PluginKind.MISSING
