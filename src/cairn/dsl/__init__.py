"""Blueprint language: YAML with source spans to a validated plan.

Pure: reads files, nothing else. The entry points are :func:`cairn.dsl.parser.parse_path`
(a blueprint to a :class:`cairn.model.plan.Plan`) and
:func:`cairn.dsl.deployment.prepare` (a plan plus inputs to a deployment plan).
"""
