"""Filter rules: what picks deployments (or sites) by their labels and attributes.

A rule is a label rule or an attribute rule, with an operator and values; a list of rules
matches a subject when every rule holds (AND). Rules have two forms that round-trip: a
string for the command line, modelled on Cloudify's rule syntax, and a JSON object for the
API::

    env=prod                 {"type": "label", "key": "env", "operator": "any_of", "values": ["prod"]}
    env=prod,staging         any_of, two values (``env=[prod,staging]`` too)
    env!=prod                not_any_of: the label is there, with none of these values
    env is null              is_null: no such label
    env is not null          is_not_null
    blueprint=web-v1         attribute any_of (attribute names are reserved: see below)
    id starts-with web-      attribute starts_with (also ends-with, contains)
    label:site=x             a label whose key is an attribute name

Parsing never raises: a bad rule comes back as a message naming the rule (the services turn
messages into errors), so a caller can report every bad rule at once.

A deployment's ``status`` is not stored anywhere: :func:`deployment_status` derives it from
the deployment's executions, so that it is the same wherever it is shown or filtered on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cairn.model import executions


class Kind(StrEnum):
    """What a rule list picks."""

    DEPLOYMENTS = "deployments"
    SITES = "sites"


class RuleType(StrEnum):
    LABEL = "label"
    ATTRIBUTE = "attribute"


class Operator(StrEnum):
    ANY_OF = "any_of"
    NOT_ANY_OF = "not_any_of"
    IS_NULL = "is_null"
    IS_NOT_NULL = "is_not_null"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    CONTAINS = "contains"


LABEL_OPERATORS = (Operator.ANY_OF, Operator.NOT_ANY_OF, Operator.IS_NULL, Operator.IS_NOT_NULL)
ATTRIBUTE_OPERATORS = (
    Operator.ANY_OF,
    Operator.NOT_ANY_OF,
    Operator.STARTS_WITH,
    Operator.ENDS_WITH,
    Operator.CONTAINS,
)
NO_VALUES = (Operator.IS_NULL, Operator.IS_NOT_NULL)


class DeploymentStatus(StrEnum):
    """A deployment's status, derived from its executions (:func:`deployment_status`)."""

    NEVER_INSTALLED = "never_installed"  # no install (or uninstall) ever succeeded
    INSTALLED = "installed"  # the last successful install/uninstall was an install
    UNINSTALLED = "uninstalled"  # ... was an uninstall
    IN_PROGRESS = "in_progress"  # an execution is running or queued
    FAILED = "failed"  # the last execution that ended failed or was cancelled


SITE_STATUSES = ("online", "offline", "never_seen", "local")
ATTRIBUTES: Mapping[Kind, tuple[str, ...]] = {
    Kind.DEPLOYMENTS: ("id", "blueprint", "site", "status", "drifted"),
    Kind.SITES: ("name", "status"),
}
# Cloudify's attribute names, accepted and stored under ours
ALIASES: Mapping[Kind, Mapping[str, str]] = {
    Kind.DEPLOYMENTS: {"blueprint_id": "blueprint", "site_name": "site", "deployment_id": "id"},
    Kind.SITES: {"site_name": "name"},
}
_CHOICES: Mapping[tuple[Kind, str], tuple[str, ...]] = {
    (Kind.DEPLOYMENTS, "status"): tuple(s.value for s in DeploymentStatus),
    (Kind.DEPLOYMENTS, "drifted"): ("true", "false"),
    (Kind.SITES, "status"): SITE_STATUSES,
}
_LABEL_KEY = re.compile(r"[A-Za-z0-9_.-]+")
_MAX_KEY = 256
_SYNTAX = (
    "expected KEY=VALUE, KEY=V1,V2, KEY!=VALUE, KEY is null, KEY is not null, "
    "or ATTRIBUTE starts-with|ends-with|contains VALUE"
)


@dataclass(frozen=True, kw_only=True)
class Rule:
    type: RuleType
    key: str  # a label key (lower-cased) or an attribute name
    operator: Operator
    values: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "key": self.key,
            "operator": self.operator.value,
            "values": list(self.values),
        }

    def __str__(self) -> str:
        """The command-line form; :func:`parse` reads it back to an equal rule."""
        key = self.key
        if self.type is RuleType.LABEL and _is_attribute_name(key):
            key = f"label:{key}"
        joined = ",".join(self.values)
        if self.operator is Operator.ANY_OF:
            return f"{key}={joined}"
        if self.operator is Operator.NOT_ANY_OF:
            return f"{key}!={joined}"
        if self.operator is Operator.IS_NULL:
            return f"{key} is null"
        if self.operator is Operator.IS_NOT_NULL:
            return f"{key} is not null"
        return f"{key} {self.operator.value.replace('_', '-')} {joined}"


@dataclass(frozen=True, kw_only=True)
class Subject:
    """What rules look at: labels, and attribute values as strings."""

    labels: Mapping[str, Sequence[str]] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)


def _is_attribute_name(key: str) -> bool:
    return any(key in names or key in ALIASES[kind] for kind, names in ATTRIBUTES.items())


# --- the string form ----------------------------------------------------------------------

_NULL = re.compile(r"(?P<key>[^\s=!]+)\s+is\s+(?P<not>not\s+)?null", re.IGNORECASE)
_WORD = re.compile(
    r"(?P<key>[^\s=!]+)\s+(?P<op>starts[-_]with|ends[-_]with|contains)\s+(?P<values>.*)",
    re.IGNORECASE,
)
_EQUALS = re.compile(r"(?P<key>[^\s=!]+)\s*(?P<op>!=|=)\s*(?P<values>.*)")


def parse(text: str, *, kind: Kind = Kind.DEPLOYMENTS) -> Rule | str:
    """The rule ``text`` says, or a message naming it."""
    stripped = text.strip()
    if found := _NULL.fullmatch(stripped):
        operator = Operator.IS_NOT_NULL if found["not"] else Operator.IS_NULL
        return _build(text, found["key"], operator, (), kind=kind)
    if found := _WORD.fullmatch(stripped):
        operator = Operator(found["op"].lower().replace("-", "_"))
        values = _split(found["values"])
        return _build(text, found["key"], operator, values, kind=kind)
    if found := _EQUALS.fullmatch(stripped):
        operator = Operator.NOT_ANY_OF if found["op"] == "!=" else Operator.ANY_OF
        return _build(text, found["key"], operator, _split(found["values"]), kind=kind)
    return f"rule {text!r}: {_SYNTAX}"


def _split(text: str) -> tuple[str, ...]:
    """``a``, ``a,b`` or ``[a,b]`` as values (an empty item stays, for check to refuse)."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text.strip():
        return ()
    return tuple(item.strip() for item in text.split(","))


def _build(
    text: str, key: str, operator: Operator, values: tuple[str, ...], *, kind: Kind
) -> Rule | str:
    forced, sep, rest = key.partition(":")
    if sep and forced.lower() in ("label", "attribute"):
        rule_type, key = RuleType(forced.lower()), rest
    else:
        names = (*ATTRIBUTES[kind], *ALIASES[kind])
        rule_type = RuleType.ATTRIBUTE if key.lower() in names else RuleType.LABEL
    return check(
        Rule(type=rule_type, key=key, operator=operator, values=values), kind=kind, text=text
    )


# --- checks and the JSON form ---------------------------------------------------------------


def check(rule: Rule, *, kind: Kind = Kind.DEPLOYMENTS, text: str | None = None) -> Rule | str:
    """``rule`` normalised (label keys lower-cased, attribute aliases resolved), or a
    message naming it (``text``: how the user wrote it)."""
    named = f"rule {text if text is not None else str(rule)!r}"
    if rule.type is RuleType.LABEL:
        return _check_label(rule, named)
    key = ALIASES[kind].get(rule.key.lower(), rule.key.lower())
    if key not in ATTRIBUTES[kind]:
        known = ", ".join(ATTRIBUTES[kind])
        return f"{named}: {kind.value} have no attribute {rule.key!r} (they have {known})"
    if rule.operator not in ATTRIBUTE_OPERATORS:
        return (
            f"{named}: {_op(rule.operator)} applies to labels only; attributes take "
            + ", ".join(_op(o) for o in ATTRIBUTE_OPERATORS)
        )
    problem = _check_values(rule, named)
    if problem:
        return problem
    values = rule.values
    choices = _CHOICES.get((kind, key))
    if choices and rule.operator in (Operator.ANY_OF, Operator.NOT_ANY_OF):
        values = tuple(v.lower() for v in values)
        wrong = [v for v in values if v not in choices]
        if wrong:
            return f"{named}: {key} is one of {', '.join(choices)}, not {', '.join(wrong)}"
    return Rule(type=RuleType.ATTRIBUTE, key=key, operator=rule.operator, values=values)


def _check_label(rule: Rule, named: str) -> Rule | str:
    if not _LABEL_KEY.fullmatch(rule.key) or len(rule.key) > _MAX_KEY:
        return f"{named}: label key {rule.key!r} may hold only letters, digits, '_', '-' and '.'"
    if rule.operator not in LABEL_OPERATORS:
        return (
            f"{named}: {_op(rule.operator)} applies to attributes only; labels take "
            + ", ".join(_op(o) for o in LABEL_OPERATORS)
        )
    problem = _check_values(rule, named)
    if problem:
        return problem
    return Rule(
        type=RuleType.LABEL, key=rule.key.lower(), operator=rule.operator, values=rule.values
    )


def _check_values(rule: Rule, named: str) -> str | None:
    if rule.operator in NO_VALUES:
        return f"{named}: {_op(rule.operator)} takes no values" if rule.values else None
    if not rule.values:
        return f"{named}: {_op(rule.operator)} needs at least one value"
    for value in rule.values:
        if not value or value != value.strip():
            return f"{named}: values must not be empty or start or end with spaces"
        if "," in value:
            return f"{named}: value {value!r} holds a ',' (which separates values)"
    return None


def _op(operator: Operator) -> str:
    return operator.value


def from_json(data: Any, *, kind: Kind = Kind.DEPLOYMENTS) -> Rule | str:
    """A rule from its JSON form, or a message naming it."""
    if isinstance(data, str):
        return parse(data, kind=kind)
    if not isinstance(data, Mapping):
        return f"rule {data!r}: expected an object with type, key, operator and values"
    shown = f"rule {_compact(data)!r}"
    unknown = sorted(set(data) - {"type", "key", "operator", "values"})
    if unknown:
        return f"{shown}: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
    try:
        rule_type = RuleType(str(data.get("type")))
    except ValueError:
        return f"{shown}: type must be label or attribute"
    try:
        operator = Operator(str(data.get("operator")))
    except ValueError:
        return f"{shown}: operator must be one of {', '.join(o.value for o in Operator)}"
    key, values = data.get("key"), data.get("values", [])
    if not isinstance(key, str) or not key:
        return f"{shown}: key must be a non-empty string"
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return f"{shown}: values must be a list of strings"
    rule = Rule(type=rule_type, key=key, operator=operator, values=tuple(values))
    return check(rule, kind=kind, text=_compact(data))


def _compact(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=False, separators=(", ", ": "), default=str)


def parse_all(
    given: Iterable[Any], *, kind: Kind = Kind.DEPLOYMENTS
) -> tuple[list[Rule], list[str]]:
    """Rules from strings or JSON objects; the messages of every bad one."""
    rules: list[Rule] = []
    problems: list[str] = []
    for item in given:
        found = from_json(item, kind=kind)
        if isinstance(found, Rule):
            rules.append(found)
        else:
            problems.append(found)
    return rules, problems


def uses(rules: Iterable[Rule], attribute: str) -> bool:
    """Whether any rule looks at ``attribute`` (so costly ones are computed only if so)."""
    return any(r.type is RuleType.ATTRIBUTE and r.key == attribute for r in rules)


# --- matching -------------------------------------------------------------------------------


def matches(rules: Iterable[Rule], subject: Subject) -> bool:
    """Whether every rule holds for ``subject`` (no rules: it matches)."""
    return all(_holds(rule, subject) for rule in rules)


def _holds(rule: Rule, subject: Subject) -> bool:
    if rule.type is RuleType.LABEL:
        present = tuple(subject.labels.get(rule.key, ()))
        if rule.operator is Operator.IS_NULL:
            return not present
        if rule.operator is Operator.IS_NOT_NULL:
            return bool(present)
        hit = any(value in rule.values for value in present)
        if rule.operator is Operator.ANY_OF:
            return hit
        return bool(present) and not hit  # not_any_of: the label is there, other values
    value = subject.attributes.get(rule.key)
    if value is None:
        return False
    if rule.operator is Operator.ANY_OF:
        return value in rule.values
    if rule.operator is Operator.NOT_ANY_OF:
        return value not in rule.values
    if rule.operator is Operator.STARTS_WITH:
        return any(value.startswith(v) for v in rule.values)
    if rule.operator is Operator.ENDS_WITH:
        return any(value.endswith(v) for v in rule.values)
    return any(v in value for v in rule.values)


# --- a deployment's status ------------------------------------------------------------------

INSTALL_WORKFLOWS = frozenset({"install"})
UNINSTALL_WORKFLOWS = frozenset({"uninstall"})


def deployment_status(history: Collection[executions.Execution]) -> DeploymentStatus:
    """From a deployment's executions (any order): ``in_progress`` while one is active or
    queued; else ``failed`` if the last one that ended failed or was cancelled; else
    ``installed`` or ``uninstalled`` after whichever of install and uninstall last
    succeeded; ``never_installed`` if neither ever did."""
    ordered = sorted(history, key=lambda e: (e.created_at, e.id))
    waiting = executions.ACTIVE | {executions.ExecutionStatus.QUEUED}
    if any(e.status in waiting for e in ordered):
        return DeploymentStatus.IN_PROGRESS
    ended = [e for e in ordered if e.status in executions.ENDED]
    if ended and ended[-1].status is not executions.ExecutionStatus.SUCCEEDED:
        return DeploymentStatus.FAILED
    for execution in reversed(ended):
        if execution.workflow_id in INSTALL_WORKFLOWS:
            return DeploymentStatus.INSTALLED
        if execution.workflow_id in UNINSTALL_WORKFLOWS:
            return DeploymentStatus.UNINSTALLED
    return DeploymentStatus.NEVER_INSTALLED
