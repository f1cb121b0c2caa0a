"""Node instance ids are unique across deployments: a collision draws new ids."""

from __future__ import annotations

import pathlib
import random
from collections.abc import Callable

import pytest

from cairn.dsl import instances
from cairn.services import blueprints, deployments
from cairn.services.manager import Manager

BLUEPRINT = b"""\
tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml]
node_templates:
  web: {type: cloudify.nodes.Root}
"""


def test_colliding_instance_ids_are_drawn_again(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = instances.id_generator
    calls: list[int] = []

    def colliding(rng: random.Random | None = None) -> Callable[[str], str]:
        calls.append(1)
        # the first two deployments draw the very same ids; later draws are random
        return real(random.Random(7)) if len(calls) <= 2 else real(rng)

    monkeypatch.setattr(instances, "id_generator", colliding)
    with Manager.open(tmp_path / "data", start_engine=False) as manager:
        blueprints.upload(manager, blueprint_id="bp", data=BLUEPRINT)
        first = deployments.create(manager, deployment_id="one", blueprint_id="bp")
        second = deployments.create(manager, deployment_id="two", blueprint_id="bp")
        ids_one = {i.id for i in manager.store.list_instances(first.id)}
        ids_two = {i.id for i in manager.store.list_instances(second.id)}
    assert len(calls) == 3  # the second deployment drew twice
    assert ids_one and ids_two and not ids_one & ids_two
