"""Filter rules: every operator, the string and JSON forms, every parse error, status."""

from __future__ import annotations

import datetime

import pytest

from cairn.model import executions, filters

Kind = filters.Kind
Op = filters.Operator
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def rule(text: str, kind: Kind = Kind.DEPLOYMENTS) -> filters.Rule:
    found = filters.parse(text, kind=kind)
    assert isinstance(found, filters.Rule), found
    return found


def label(key: str, op: Op, *values: str) -> filters.Rule:
    return filters.Rule(type=filters.RuleType.LABEL, key=key, operator=op, values=values)


def attribute(key: str, op: Op, *values: str) -> filters.Rule:
    return filters.Rule(type=filters.RuleType.ATTRIBUTE, key=key, operator=op, values=values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("env=prod", label("env", Op.ANY_OF, "prod")),
        ("Env = prod", label("env", Op.ANY_OF, "prod")),
        ("env=prod,staging", label("env", Op.ANY_OF, "prod", "staging")),
        ("env=[prod, staging]", label("env", Op.ANY_OF, "prod", "staging")),
        ("env!=prod", label("env", Op.NOT_ANY_OF, "prod")),
        ("env!=[a,b]", label("env", Op.NOT_ANY_OF, "a", "b")),
        ("env is null", label("env", Op.IS_NULL)),
        ("env IS NOT NULL", label("env", Op.IS_NOT_NULL)),
        ("label:site=x", label("site", Op.ANY_OF, "x")),
        ("label:status is null", label("status", Op.IS_NULL)),
        ("blueprint=web-v1", attribute("blueprint", Op.ANY_OF, "web-v1")),
        ("blueprint_id=web-v1", attribute("blueprint", Op.ANY_OF, "web-v1")),
        ("site!=paris,lyon", attribute("site", Op.NOT_ANY_OF, "paris", "lyon")),
        ("id starts-with web-", attribute("id", Op.STARTS_WITH, "web-")),
        ("id starts_with web-", attribute("id", Op.STARTS_WITH, "web-")),
        ("site ends-with -eu", attribute("site", Op.ENDS_WITH, "-eu")),
        ("id contains 42", attribute("id", Op.CONTAINS, "42")),
        ("id contains [4,2]", attribute("id", Op.CONTAINS, "4", "2")),
        ("drifted=TRUE", attribute("drifted", Op.ANY_OF, "true")),
        ("status=installed,failed", attribute("status", Op.ANY_OF, "installed", "failed")),
        ("attribute:id=a", attribute("id", Op.ANY_OF, "a")),
    ],
)
def test_the_string_form_parses(text: str, expected: filters.Rule) -> None:
    assert filters.parse(text) == expected


def test_sites_have_their_own_attributes() -> None:
    assert rule("name starts-with par", Kind.SITES) == attribute("name", Op.STARTS_WITH, "par")
    assert rule("status=online", Kind.SITES) == attribute("status", Op.ANY_OF, "online")
    assert rule("blueprint=x", Kind.SITES) == label("blueprint", Op.ANY_OF, "x")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("env", "expected KEY=VALUE"),
        ("", "expected KEY=VALUE"),
        ("env prod", "expected KEY=VALUE"),
        ("env=", "any_of needs at least one value"),
        ("env!=[]", "not_any_of needs at least one value"),
        ("env=a,,b", "values must not be empty"),
        ("bad key!=x", "expected KEY=VALUE"),
        ("ke/y=x", "label key 'ke/y' may hold only"),
        ("env starts-with p", "starts_with applies to attributes only"),
        ("label:id contains 4", "contains applies to attributes only"),
        ("id is null", "is_null applies to labels only"),
        ("site is not null", "is_not_null applies to labels only"),
        ("status=happy", "status is one of never_installed, installed"),
        ("drifted=maybe", "drifted is one of true, false, not maybe"),
        ("attribute:colour=red", "deployments have no attribute 'colour'"),
        ("id starts-with ", "expected KEY=VALUE"),
    ],
)
def test_bad_rules_are_named_in_the_message(text: str, words: str) -> None:
    found = filters.parse(text)
    assert isinstance(found, str)
    assert found.startswith(f"rule {text!r}: ")
    assert words in found


def test_site_rules_are_checked_against_site_attributes() -> None:
    found = filters.parse("status=installed", kind=Kind.SITES)
    assert isinstance(found, str) and "online, offline, never_seen, local" in found
    found = filters.parse("attribute:blueprint=x", kind=Kind.SITES)
    assert isinstance(found, str) and "sites have no attribute 'blueprint' (they have name" in found


@pytest.mark.parametrize(
    "text",
    [
        "env=prod", "env=prod,staging", "env!=prod", "env is null", "env is not null",
        "label:site=x", "label:drifted is null", "blueprint=web-v1", "id starts-with web-",
        "site ends-with -eu", "id contains 42", "drifted=true", "status!=failed",
    ],
)  # fmt: skip
def test_string_and_json_forms_round_trip(text: str) -> None:
    parsed = rule(text)
    assert filters.parse(str(parsed)) == parsed
    assert filters.from_json(parsed.to_json()) == parsed


def test_the_json_form() -> None:
    given = {"type": "label", "key": "Env", "operator": "any_of", "values": ["prod"]}
    assert filters.from_json(given) == label("env", Op.ANY_OF, "prod")
    assert rule("env=prod").to_json() == {**given, "key": "env"}
    assert filters.from_json("env=prod") == label("env", Op.ANY_OF, "prod")
    null = {"type": "label", "key": "env", "operator": "is_null"}
    assert filters.from_json(null) == label("env", Op.IS_NULL)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (42, "expected an object"),
        ({"type": "tag", "key": "a", "operator": "any_of", "values": ["x"]}, "type must be"),
        ({"type": "label", "key": "a", "operator": "is", "values": ["x"]}, "operator must be"),
        ({"type": "label", "key": "", "operator": "any_of", "values": ["x"]}, "key must be"),
        ({"type": "label", "key": "a", "operator": "any_of", "values": "x"}, "list of strings"),
        ({"type": "label", "key": "a", "operator": "any_of", "values": [1]}, "list of strings"),
        ({"type": "label", "key": "a", "operator": "any_of", "values": ["x"], "x": 1}, "unknown"),
        ({"type": "label", "key": "a", "operator": "is_null", "values": ["x"]}, "takes no values"),
        ({"type": "label", "key": "a", "operator": "any_of", "values": ["x,y"]}, "holds a ','"),
        ({"type": "attribute", "key": "a", "operator": "any_of", "values": ["x"]}, "attribute 'a'"),
    ],
)
def test_bad_json_rules_are_named(data: object, words: str) -> None:
    found = filters.from_json(data)
    assert isinstance(found, str) and found.startswith("rule ") and words in found


def test_parse_all_reports_every_bad_rule() -> None:
    rules, problems = filters.parse_all(["env=prod", "nonsense", "id is null", "id=a"])
    assert rules == [label("env", Op.ANY_OF, "prod"), attribute("id", Op.ANY_OF, "a")]
    assert len(problems) == 2
    assert "'nonsense'" in problems[0] and "'id is null'" in problems[1]


SUBJECT = filters.Subject(
    labels={"env": ("prod", "eu"), "tier": ("web",)},
    attributes={"id": "web-42", "blueprint": "web-v1", "site": "paris-eu", "drifted": "false"},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("env=prod", True),
        ("env=staging,eu", True),
        ("env=staging", False),
        ("other=prod", False),
        ("env!=staging", True),
        ("env!=prod", False),
        ("env!=eu,prod", False),
        ("other!=prod", False),  # not_any_of needs the label to be there
        ("other is null", True),
        ("env is null", False),
        ("env is not null", True),
        ("other is not null", False),
        ("blueprint=web-v1", True),
        ("blueprint=web-v2", False),
        ("blueprint!=web-v2", True),
        ("blueprint!=web-v1", False),
        ("id starts-with web-", True),
        ("id starts-with db-,web", True),
        ("id starts-with db-", False),
        ("site ends-with -eu", True),
        ("site ends-with -us", False),
        ("id contains 42", True),
        ("id contains 43", False),
        ("drifted=false", True),
        ("drifted=true", False),
        ("status=installed", False),  # the subject has no status: no attribute rule holds
    ],
)
def test_each_operator_matches(text: str, expected: bool) -> None:
    assert filters.matches([rule(text)], SUBJECT) is expected


def test_rules_are_anded() -> None:
    assert filters.matches([], SUBJECT)
    assert filters.matches([rule("env=prod"), rule("id contains 4")], SUBJECT)
    assert not filters.matches([rule("env=prod"), rule("id contains 5")], SUBJECT)
    assert filters.uses([rule("drifted=true")], "drifted")
    assert not filters.uses([rule("label:drifted=true")], "drifted")


def _run(workflow: str, status: str, seconds: int) -> executions.Execution:
    return executions.Execution(
        id=f"e{seconds}",
        deployment_id="d",
        workflow_id=workflow,
        parameters={},
        status=executions.ExecutionStatus(status),
        created_at=T0 + datetime.timedelta(seconds=seconds),
    )


@pytest.mark.parametrize(
    ("history", "status"),
    [
        ([], "never_installed"),
        ([("install", "succeeded")], "installed"),
        ([("install", "succeeded"), ("uninstall", "succeeded")], "uninstalled"),
        ([("install", "succeeded"), ("check_drift", "succeeded")], "installed"),
        ([("install", "failed")], "failed"),
        ([("install", "succeeded"), ("update", "cancelled")], "failed"),
        ([("install", "failed"), ("install", "succeeded")], "installed"),
        ([("install", "succeeded"), ("heal", "started")], "in_progress"),
        ([("install", "succeeded"), ("heal", "queued")], "in_progress"),
        ([("check_status", "succeeded")], "never_installed"),
    ],
)
def test_a_deployments_status_comes_from_its_executions(
    history: list[tuple[str, str]], status: str
) -> None:
    runs = [_run(workflow, state, index) for index, (workflow, state) in enumerate(history)]
    assert filters.deployment_status(list(reversed(runs))) == filters.DeploymentStatus(status)
