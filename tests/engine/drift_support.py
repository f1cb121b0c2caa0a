"""A blueprint whose drift scripts report through ``ctx returns``: ``conf`` checks a file
against its ``content`` property, the ``user -> conf`` relationship reports drift (Cloudify
style, any truthy result) while ``$CONTROL/link-drifted`` exists, and ``conf``'s status check
fails while ``$CONTROL/status-failed`` exists."""

from __future__ import annotations

import pathlib

import engine_support as support

# The config file's content must be the node's `content` property; anything else is drift.
CHECK = """\
#!/bin/sh
want=$(ctx node properties content)
have=$(cat "$FILE" 2>/dev/null || echo missing)
if [ "$want" = "$have" ]; then
  ctx returns @'{"drifted": false, "differences": {}}'
else
  diff='"content": {"expected": "'"$want"'", "actual": "'"$have"'"}'
  ctx returns @"{\\"drifted\\": true, \\"differences\\": {$diff}}"
fi
"""
# A Cloudify-style relationship check: a truthy result is drift.
LINK = """\
#!/bin/sh
if [ -f "$CONTROL/link-drifted" ]; then
  ctx returns @'{"port": {"expected": 80, "actual": 81}}'
else
  ctx returns @'{}'
fi
"""
STATUS = """\
#!/bin/sh
if [ -f "$CONTROL/status-failed" ]; then
  echo "not healthy" >&2
  exit 1
fi
"""
UPDATE_SH = """\
#!/bin/sh
ctx -j instance drift > "$OUT"
"""
UPDATE_PY = """\
import json, os
from cloudify import ctx
with open(os.environ["OUT"], "w") as out:
    json.dump(ctx.instance.drift, out)
"""


def blueprint(tmp_path: pathlib.Path, control: pathlib.Path) -> pathlib.Path:
    conf = tmp_path / "app.conf"
    body = f"""\
tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml]
node_types:
  app.Config:
    derived_from: cloudify.nodes.Root
    properties:
      content: {{default: v1}}
    interfaces:
      cloudify.interfaces.lifecycle:
        check_drift:
          implementation: scripts/check.sh
          inputs: {{FILE: {{default: '{conf}'}}}}
        update:
          implementation: scripts/update.sh
          inputs: {{OUT: {{default: '{tmp_path / "update-sh.json"}'}}}}
        postupdate:
          implementation: scripts/update.py
          inputs: {{OUT: {{default: '{tmp_path / "update-py.json"}'}}}}
      cloudify.interfaces.validation:
        check_status:
          implementation: scripts/status.sh
          inputs: {{CONTROL: {{default: '{control}'}}}}
relationships:
  app.uses:
    derived_from: cloudify.relationships.connected_to
    target_interfaces:
      cloudify.interfaces.relationship_lifecycle:
        check_drift:
          implementation: scripts/link.sh
          inputs: {{CONTROL: {{default: '{control}'}}}}
node_templates:
  conf: {{type: app.Config}}
  plain: {{type: cloudify.nodes.Root}}
  user:
    type: cloudify.nodes.Root
    relationships: [{{type: app.uses, target: conf}}]
"""
    path = support.write_blueprint(tmp_path / "bp", body)
    for name, text in (
        ("check.sh", CHECK),
        ("link.sh", LINK),
        ("update.sh", UPDATE_SH),
        ("update.py", UPDATE_PY),
        ("status.sh", STATUS),
    ):
        (path.parent / "scripts" / name).write_text(text)
        (path.parent / "scripts" / name).chmod(0o755)
    conf.write_text("v1")
    return path
