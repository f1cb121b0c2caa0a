"""Blueprints the planner tests share (node templates only: the header comes from plansupport)."""

LIFECYCLE_TYPE = """
node_types:
  app.Node:
    derived_from: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/create.sh
        configure: scripts/configure.sh
        start: scripts/start.sh
        stop: scripts/stop.sh
        delete: scripts/delete.sh
"""


CHAIN = (
    LIFECYCLE_TYPE
    + """
node_templates:
  a: {type: app.Node}
  b:
    type: app.Node
    relationships: [{type: cloudify.relationships.connected_to, target: a}]
  c:
    type: app.Node
    relationships: [{type: cloudify.relationships.depends_on, target: b}]
"""
)


CONTAINMENT = (
    LIFECYCLE_TYPE
    + """
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
    capabilities: {scalable: {properties: {default_instances: 2}}}
  app1:
    type: app.Node
    relationships: [{type: cloudify.relationships.contained_in, target: vm}]
  app2:
    type: app.Node
    relationships: [{type: cloudify.relationships.contained_in, target: vm}]
  app3:
    type: app.Node
    relationships: [{type: cloudify.relationships.contained_in, target: app1}]
"""
)


RELATIONSHIP_OPS = (
    LIFECYCLE_TYPE
    + """
relationships:
  app.link:
    derived_from: cloudify.relationships.connected_to
    source_interfaces:
      cloudify.interfaces.relationship_lifecycle:
        preconfigure: scripts/source_pre.sh
        postconfigure: scripts/source_post.sh
        establish: scripts/source_establish.sh
        unlink: scripts/source_unlink.sh
    target_interfaces:
      cloudify.interfaces.relationship_lifecycle:
        preconfigure: scripts/target_pre.sh
        establish: scripts/target_establish.sh
        unlink: scripts/target_unlink.sh
node_templates:
  db: {type: app.Node}
  cache: {type: app.Node}
  web:
    type: app.Node
    relationships:
      - {type: app.link, target: db}
      - {type: app.link, target: cache}
"""
)


LIFECYCLE_HOOKS = """
node_types:
  app.Full:
    derived_from: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        precreate: scripts/precreate.sh
        create: scripts/create.sh
        start: scripts/start.sh
        poststart: scripts/poststart.sh
        prestop: scripts/prestop.sh
        stop: scripts/stop.sh
        delete: scripts/delete.sh
        postdelete: scripts/postdelete.sh
      cloudify.interfaces.validation:
        create: scripts/validate_create.sh
        delete: scripts/validate_delete.sh
      cloudify.interfaces.monitoring:
        start: scripts/monitor_start.sh
        stop: scripts/monitor_stop.sh
node_templates:
  full: {type: app.Full}
"""


LIFECYCLE_DEPENDENCY = (
    LIFECYCLE_TYPE
    + """
node_templates:
  target:
    type: app.Node
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/create.sh
        configure: scripts/configure.sh
  waits_for_create:
    type: app.Node
    relationships:
      - type: cloudify.relationships.depends_on_lifecycle_operation
        target: target
        properties: {operation: create}
  waits_for_configure:
    type: app.Node
    relationships:
      - type: cloudify.relationships.depends_on_lifecycle_operation
        target: target
        properties: {operation: configure}
"""
)
