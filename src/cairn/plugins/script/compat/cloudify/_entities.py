"""What ``ctx`` shows of nodes, instances and the rest, read from the context file.

Runtime properties are a plain dict in memory, as in Cloudify; their changes are written
back key by key (so that ``ctx`` commands run by the same script are not overwritten)
whenever a key is set, on ``update()`` and when the script ends.
"""

from __future__ import annotations

import copy
import types

import _cairn_ctx as core

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from cloudify._context import CloudifyContext


class ImmutableProperties(dict[str, "Any"]):
    """Node properties: reading works, changing them is refused as in Cloudify."""

    def _refuse(self, *_: object, **__: object) -> NoReturn:
        from cloudify import exceptions

        raise exceptions.NonRecoverableError(core.READ_ONLY)

    __setitem__ = _refuse
    __delitem__ = _refuse
    update = _refuse
    clear = _refuse
    pop = _refuse
    popitem = _refuse
    setdefault = _refuse


class RuntimeProperties(dict[str, "Any"]):
    """An instance's runtime properties; changes go to the context file key by key."""

    def __init__(self, owner: CloudifyContext, keys: list[str], data: dict[str, Any]) -> None:
        super().__init__(data)
        self._owner = owner
        self._keys = keys
        self._snapshot = copy.deepcopy(data)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.flush()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.flush()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.flush()

    def pop(self, *args: Any) -> Any:
        value = super().pop(*args)
        self.flush()
        return value

    def setdefault(self, key: str, default: Any = None) -> Any:
        value = super().setdefault(key, default)
        self.flush()
        return value

    def clear(self) -> None:
        super().clear()
        self.flush()

    @property
    def dirty(self) -> bool:
        return dict(self) != self._snapshot

    def flush(self) -> None:
        current = copy.deepcopy(dict(self))
        before = self._snapshot
        missing = object()
        changed = {k: v for k, v in current.items() if before.get(k, missing) != v}
        removed = [k for k in before if k not in current]
        if not changed and not removed:
            return
        keys = self._keys

        def change(document: dict[str, Any]) -> None:
            target = document.setdefault("context", {})
            for key in keys:
                if not isinstance(target.get(key), dict):
                    target[key] = {}
                target = target[key]
            for key in removed:
                target.pop(key, None)
            target.update(changed)

        self._owner.context_file.update(change)
        self._snapshot = current

    def reload(self, data: dict[str, Any]) -> None:
        dict.clear(self)
        dict.update(self, data)
        self._snapshot = copy.deepcopy(data)


class NodeContext:
    def __init__(self, owner: CloudifyContext, keys: list[str]) -> None:
        self._owner = owner
        self._keys = keys
        self._properties: ImmutableProperties | None = None

    def _get(self, name: str) -> Any:
        return core.dig(self._owner.document.get("context"), [*self._keys, name])

    @property
    def id(self) -> Any:
        return self._get("name")

    @property
    def name(self) -> Any:
        return self._get("name")

    @property
    def type(self) -> Any:
        return self._get("type")

    @property
    def type_hierarchy(self) -> Any:
        return self._get("type_hierarchy")

    @property
    def number_of_instances(self) -> Any:
        return self._get("number_of_instances")

    @property
    def properties(self) -> ImmutableProperties:
        if self._properties is None:
            self._properties = ImmutableProperties(self._get("properties") or {})
        return self._properties


class RelationshipContext:
    def __init__(self, record: dict[str, Any]) -> None:
        self._record = record
        name, instance_id = record.get("target_name"), record.get("target_id")
        self.target = types.SimpleNamespace(
            node=types.SimpleNamespace(id=name, name=name),
            instance=types.SimpleNamespace(id=instance_id),
        )

    @property
    def type(self) -> Any:
        return self._record.get("type")

    @property
    def type_hierarchy(self) -> Any:
        return self._record.get("type_hierarchy", [self._record.get("type")])


class NodeInstanceContext:
    def __init__(self, owner: CloudifyContext, keys: list[str]) -> None:
        self._owner = owner
        self._keys = keys

    def _get(self, name: str) -> Any:
        return core.dig(self._owner.document.get("context"), [*self._keys, name])

    @property
    def id(self) -> Any:
        return self._get("id")

    @property
    def host_ip(self) -> Any:
        return self._get("host_ip")

    @property
    def index(self) -> Any:
        return self._get("index")

    @property
    def scaling_groups(self) -> Any:
        return self._get("scaling_groups") or []

    @property
    def drift(self) -> Any:
        """What the last check_drift recorded for this instance (None: never checked)."""
        return self._get("drift")

    @property
    def relationships(self) -> list[RelationshipContext]:
        records = self._get("relationships") or []
        return [RelationshipContext(dict(r)) for r in records]

    @property
    def runtime_properties(self) -> RuntimeProperties:
        return self._owner.runtime_properties(self._keys)

    def update(self, on_conflict: object = None) -> None:
        self.runtime_properties.flush()

    def refresh(self, force: bool = False) -> None:
        properties = self.runtime_properties
        if properties.dirty and not force:
            from cloudify import exceptions

            raise exceptions.NonRecoverableError(
                "runtime_properties are dirty: refreshing now would destroy local changes"
            )
        document = self._owner.reload()
        properties.reload(
            core.dig(document.get("context"), [*self._keys, "runtime_properties"]) or {}
        )


class SubjectContext:
    """``ctx.source`` / ``ctx.target`` of a relationship operation."""

    def __init__(self, owner: CloudifyContext, keys: list[str]) -> None:
        self.node = NodeContext(owner, [*keys, "node"])
        self.instance = NodeInstanceContext(owner, [*keys, "instance"])


class _Section:
    def __init__(self, owner: CloudifyContext, key: str) -> None:
        self._owner = owner
        self._key = key

    def _get(self, name: str) -> Any:
        return core.dig(self._owner.document.get("context"), [self._key, name])


class DeploymentContext(_Section):
    @property
    def id(self) -> Any:
        return self._get("id")

    @property
    def display_name(self) -> Any:
        return self._get("display_name") or self._get("id")

    @property
    def blueprint_id(self) -> Any:
        return self._get("blueprint_id")

    @property
    def inputs(self) -> ImmutableProperties:
        return ImmutableProperties(self._get("inputs") or {})

    @property
    def tenant_name(self) -> str:
        return "default_tenant"

    @property
    def creator(self) -> Any:
        return self._get("creator")


class BlueprintContext(_Section):
    @property
    def id(self) -> Any:
        return self._get("id")


class OperationContext(_Section):
    @property
    def name(self) -> Any:
        return self._get("name")

    @property
    def retry_number(self) -> Any:
        return self._get("retry_number")

    @property
    def max_retries(self) -> Any:
        return self._get("max_retries")

    def retry(self, message: str | None = None, retry_after: float | None = None) -> None:
        core.Session(self._owner.context_file).call_retry(message, retry_after)
