"""Input constraints and types: definitions at parse time, values at deploy time."""

from __future__ import annotations

from typing import Any

import pytest

from cairn.dsl import constraints

DATA_TYPES: dict[str, Any] = {
    "Endpoint": {
        "properties": {
            "host": {"type": "string"},
            "port": {"type": "integer", "default": 80},
            "tags": {"type": "list", "required": False},
        }
    },
    "SecureEndpoint": {
        "derived_from": "Endpoint",
        "properties": {"port": {"type": "integer", "default": 443}, "cert": {"default": "none"}},
    },
    "Service": {
        "properties": {
            "endpoint": {"type": "Endpoint", "default": {"host": "localhost"}},
            "name": {"type": "string", "default": "svc"},
        }
    },
}


# --- definitions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "definition",
    [
        {"in_range": [1, 65535]},
        {"valid_values": ["a", "b"]},
        {"pattern": "^[a-z]+$"},
        {"min_length": 2},
        {"equal": 3.5},
        {"greater_than": {"get_input": "low"}},
        {"name_pattern": {"starts_with": "n"}},
        {"deployment_id": "dep-1"},
    ],
)
def test_valid_definitions(definition: dict[str, Any]) -> None:
    assert constraints.check_definition(definition) == []


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({}, "mapping"),
        ("in_range", "mapping"),
        ({"between": [1, 2]}, "unknown constraint operator 'between'"),
        ({"in_range": [1]}, "in_range takes [min, max] numbers"),
        ({"in_range": [1, "9"]}, "in_range takes"),
        ({"min_length": True}, "min_length takes a number"),
        ({"equal": "abc"}, "equal takes a number"),
        ({"pattern": "(unclosed"}, "pattern takes a valid regular expression"),
        ({"valid_values": "a"}, "valid_values takes a list"),
        ({"min_length": 1, "max_length": 2}, "exactly one operator"),
    ],
)
def test_invalid_definitions(definition: Any, expected: str) -> None:
    problems = constraints.check_definition(definition)
    assert len(problems) == 1 and expected in problems[0]


def test_error_message_needs_dsl_1_5() -> None:
    definition = {"min_length": 1, "error_message": "too short"}
    assert constraints.check_definition(definition, dsl_version=(1, 5)) == []
    assert "cloudify_dsl_1_5" in constraints.check_definition(definition, dsl_version=(1, 4))[0]


def test_check_definitions_reports_each_bad_entry() -> None:
    problems = constraints.check_definitions(
        [{"bogus": 1}, {"in_range": [1, 2]}, {"min_length": "x"}]
    )
    assert len(problems) == 2
    assert constraints.check_definitions("nope") == ["constraints must be a list, got 'nope'"]


# --- values --------------------------------------------------------------------------------


def check(value: Any, **definition: Any) -> list[str]:
    return constraints.check_value("port", value, definition, data_types=DATA_TYPES)


def test_in_range_message_names_the_input_and_range() -> None:
    assert check(70000, type="integer", constraints=[{"in_range": [1, 65535]}]) == [
        "input 'port': 70000 is not in range [1, 65535]"
    ]


@pytest.mark.parametrize(
    ("value", "constraint", "expected"),
    [
        (3, {"equal": 4}, "3 is not equal to 4"),
        (3, {"greater_than": 3}, "3 is not greater than 3"),
        (2, {"greater_or_equal": 3}, "2 is less than 3"),
        (3, {"less_than": 3}, "3 is not less than 3"),
        (4, {"less_or_equal": 3}, "4 is greater than 3"),
        ("c", {"valid_values": ["a", "b"]}, '\'c\' is not one of ["a", "b"]'),
        ("abc", {"length": 2}, "'abc' has length 3, not 2"),
        ("a", {"min_length": 2}, "'a' is shorter than 2 (length 1)"),
        ([1, 2, 3], {"max_length": 2}, "[1, 2, 3] is longer than 2 (length 3)"),
        ("A1", {"pattern": "[a-z]+"}, "'A1' does not match pattern '[a-z]+'"),
        ("x", {"greater_than": 3}, "greater_than cannot compare 'x' and 3"),
        (5, {"min_length": 1}, "5 has no length (min_length 1)"),
    ],
)
def test_failed_constraints(value: Any, constraint: dict[str, Any], expected: str) -> None:
    assert check(value, constraints=[constraint]) == [f"input 'port': {expected}"]


def test_pattern_is_anchored_at_the_start_only_like_cloudify() -> None:
    assert check("abc-1", constraints=[{"pattern": "[a-z]+"}]) == []


def test_all_failed_constraints_are_reported_and_error_message_is_used() -> None:
    problems = check(
        "toolongvalue",
        constraints=[{"max_length": 3}, {"pattern": "^x", "error_message": "must start with x"}],
    )
    assert problems == [
        "input 'port': 'toolongvalue' is longer than 3 (length 12)",
        "input 'port': 'toolongvalue' is invalid: must start with x",
    ]


def test_type_is_checked_before_constraints() -> None:
    assert check("x", type="integer", constraints=[{"in_range": [1, 2]}]) == [
        "input 'port': 'x' is not an integer"
    ]
    assert check("80", type="integer") == ["input 'port': '80' is not an integer"]
    assert check(True, type="integer") == ["input 'port': true is not an integer"]
    assert check(1, type="float") == []
    assert check("(", type="regex") == ["input 'port': '(' is not a valid regular expression"]
    # Cloudify's leniency: a string input takes any value.
    assert check(5, type="string") == []


def test_list_item_type_applies_type_and_constraints_to_each_item() -> None:
    definition = {"type": "list", "item_type": "integer", "constraints": [{"less_than": 10}]}
    assert check([1, 2], **definition) == []
    assert check([1, "x", 20], **definition) == [
        "input 'port': item 'x' is not an integer",
        "input 'port': 20 is not less than 10",
    ]


def test_function_value_cannot_have_constraints_but_is_not_type_checked() -> None:
    value = {"get_secret": "pw"}
    assert "intrinsic function" in check(value, constraints=[{"min_length": 1}])[0]
    assert check(value, type="integer") == []


def test_object_types_check_what_can_be_checked_locally() -> None:
    assert check("node1", type="node_id", constraints=[{"deployment_id": "d"}]) == []
    assert check("node9", type="node_id", constraints=[{"valid_values": ["node1"]}]) == [
        "input 'port': 'node9' is not one of [\"node1\"]"
    ]
    assert check("x", type="node_id", constraints=[{"name_pattern": {"starts_with": "n"}}]) == [
        "input 'port': 'x' does not satisfy name_pattern starts_with: 'n'"
    ]
    problems = check("x", type="string", constraints=[{"name_pattern": {"contains": "x"}}])
    assert problems == ["input 'port': constraint name_pattern is not defined for type 'string'"]


def test_data_types_nested_defaults_and_required() -> None:
    assert check({"host": "h"}, type="Endpoint") == []
    assert check({"port": 1}, type="Endpoint") == [
        "input 'port': missing property 'host' of type 'Endpoint'"
    ]
    assert check({"host": "h", "port": "x", "extra": 1}, type="Endpoint") == [
        "input 'port': 'extra' is not a property of type 'Endpoint'",
        "input 'port'.port: 'x' is not an integer",
    ]
    assert check({"endpoint": {"host": "h", "port": "p"}}, type="Service") == [
        "input 'port'.endpoint.port: 'p' is not an integer"
    ]


def test_complete_value_fills_defaults_through_derived_and_nested_types() -> None:
    assert constraints.complete_value({"host": "h"}, "SecureEndpoint", DATA_TYPES) == {
        "host": "h",
        "port": 443,
        "cert": "none",
    }
    assert constraints.complete_value({}, "Service", DATA_TYPES) == {
        "endpoint": {"host": "localhost", "port": 80},
        "name": "svc",
    }
    completed = constraints.complete_value({"endpoint": {"port": 1}}, "Service", DATA_TYPES)
    assert completed["endpoint"] == {"host": "localhost", "port": 1}


def test_check_default_checks_type_constraints_and_object_types() -> None:
    assert constraints.check_default("p", {"type": "integer", "default": 5}, data_types={}) == []
    assert constraints.check_default("p", {"type": "integer", "default": "x"}, data_types={}) == [
        "input 'p' default: 'x' is not an integer"
    ]
    bad_range = {"default": 0, "constraints": [{"in_range": [1, 2]}]}
    assert constraints.check_default("p", bad_range, data_types={}) == [
        "input 'p' default: 0 is not in range [1, 2]"
    ]
    assert (
        "cannot have a default"
        in constraints.check_default("d", {"type": "deployment_id", "default": "x"}, data_types={})[
            0
        ]
    )


def test_cast_to_type() -> None:
    assert constraints.cast_to_type("8080", "integer") == 8080
    assert constraints.cast_to_type("1.5", "float") == 1.5
    assert constraints.cast_to_type("true", "boolean") is True
    assert constraints.cast_to_type("yes", "boolean") == "yes"
    assert constraints.cast_to_type("x", "integer") == "x"
