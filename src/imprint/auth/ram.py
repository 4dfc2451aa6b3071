"""RAM policy evaluation: a pure function over policy documents and a request context.

Semantics follow Alibaba's RAM docs (signing.md §11): an explicit Deny in any policy wins, an
applicable Allow allows, and anything else is NO_MATCH, which callers must treat as a denial.
A condition key absent from the context makes positive operators false and negated ones
(``StringNot*``, ``*NotEquals``, ``NotIpAddress``) true, as AWS documents; the RAM pages are silent.
A context value that cannot be read as the operator's type counts as absent.

Action names compare case-insensitively (the docs: "in most cases"); resources and string
condition values compare case-sensitively unless the operator says IgnoreCase.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    NO_MATCH = "no_match"


class PolicyError(ValueError):
    """A policy document that ``validate_policy`` rejects was passed to ``evaluate``."""


@dataclass(frozen=True)
class RequestContext:
    """Condition-key values of one request, computed by the server from the real connection."""

    source_ip: str | None = None
    current_time: datetime | None = None
    secure_transport: bool | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def value(self, key: str) -> object | None:
        wanted = key.lower()
        builtin = {
            "acs:sourceip": self.source_ip,
            "acs:currenttime": self.current_time,
            "acs:securetransport": self.secure_transport,
        }
        if wanted in builtin:
            return builtin[wanted]
        return next((value for name, value in self.extra.items() if name.lower() == wanted), None)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value


def _as_number(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _as_date(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(_as_text(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _as_text(value).lower()
    if text not in ("true", "false"):
        raise ValueError(f"{value!r} is not a boolean")
    return text == "true"


def _as_ip(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(_as_text(value))


def _as_network(value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(_as_text(value), strict=False)


@lru_cache(maxsize=1024)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(text: str, pattern: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(text) is not None


@dataclass(frozen=True)
class _Operator:
    read_context: Callable[[object], Any]
    read_policy: Callable[[object], Any]
    test: Callable[[Any, Any], bool]
    negated: bool = False


def _family(
    read: Callable[[object], Any], tests: dict[str, Callable[[Any, Any], bool]], negated: Sequence[str] = ()
) -> dict[str, _Operator]:
    return {name: _Operator(read, read, test, name in negated) for name, test in tests.items()}


_EQ = {"Equals": lambda a, b: a == b, "NotEquals": lambda a, b: a == b}
_ORDER = {
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_OPERATORS: dict[str, _Operator] = {
    **_family(
        _as_text,
        {
            "StringEquals": lambda a, b: a == b,
            "StringNotEquals": lambda a, b: a == b,
            "StringEqualsIgnoreCase": lambda a, b: a.casefold() == b.casefold(),
            "StringNotEqualsIgnoreCase": lambda a, b: a.casefold() == b.casefold(),
            "StringLike": _like,
            "StringNotLike": _like,
        },
        negated=("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike"),
    ),
    **_family(_as_number, {f"Numeric{k}": t for k, t in (_EQ | _ORDER).items()}, ("NumericNotEquals",)),
    **_family(_as_date, {f"Date{k}": t for k, t in (_EQ | _ORDER).items()}, ("DateNotEquals",)),
    **_family(_as_bool, {"Bool": lambda a, b: a == b}),
    "IpAddress": _Operator(_as_ip, _as_network, lambda ip, net: ip in net),
    "NotIpAddress": _Operator(_as_ip, _as_network, lambda ip, net: ip in net, negated=True),
}

_STATEMENT_KEYS = {"Effect", "Action", "NotAction", "Resource", "Condition"}


def _strings(value: object) -> list[str] | None:
    """A string or a non-empty list of non-empty strings, as a list; None if it is neither."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        return None
    return items


def _values(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _condition_problems(condition: object) -> list[str]:
    if not isinstance(condition, Mapping):
        return ["Condition must be an object"]
    problems = []
    for operator, block in condition.items():
        spec = _OPERATORS.get(operator)
        if spec is None:
            problems.append(f"unknown condition operator {operator!r}")
        elif not isinstance(block, Mapping) or not block:
            problems.append(f"{operator} must map condition keys to values")
        else:
            for key, raw in block.items():
                values = _values(raw)
                if not values:
                    problems.append(f"{operator}.{key} has no values")
                for value in values:
                    try:
                        spec.read_policy(value)
                    except ValueError:
                        problems.append(f"{operator}.{key}: {value!r} is not a valid value for this operator")
    return problems


def _statement_problems(statement: object) -> list[str]:
    if not isinstance(statement, Mapping):
        return ["must be an object"]
    problems = []
    if "Principal" in statement:
        problems.append("Principal is only valid in resource-based policies")
    unknown = sorted(set(statement) - _STATEMENT_KEYS - {"Principal"})
    if unknown:
        problems.append(f"unknown keys {unknown}")
    if statement.get("Effect") not in ("Allow", "Deny"):
        problems.append('Effect must be "Allow" or "Deny"')
    if ("Action" in statement) == ("NotAction" in statement):
        problems.append("exactly one of Action and NotAction is required")
    for name in ("Action", "NotAction"):
        if name in statement:
            actions = _strings(statement[name])
            if actions is None:
                problems.append(f"{name} must be a string or a list of strings")
            elif bad := [a for a in actions if a != "*" and ":" not in a]:
                problems.append(f"{name} entries must look like '<service>:<api>': {bad}")
    if _strings(statement.get("Resource")) is None:
        problems.append("Resource must be a string or a list of strings")
    if "Condition" in statement:
        problems.extend(_condition_problems(statement["Condition"]))
    return problems


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement")
    return [statements] if isinstance(statements, Mapping) else list(statements)


def validate_policy(doc: object) -> list[str]:
    """Problems that make ``doc`` an invalid identity policy; an empty list means it is valid."""
    if not isinstance(doc, Mapping):
        return ["a policy must be a JSON object"]
    problems = []
    if unknown := sorted(set(doc) - {"Version", "Statement"}):
        problems.append(f"unknown top-level keys {unknown}")
    if doc.get("Version") != "1":
        problems.append('Version must be "1"')
    statements = doc.get("Statement")
    if not isinstance(statements, Mapping | list) or not statements:
        return [*problems, "Statement must be an object or a non-empty list"]
    for index, statement in enumerate(_statements(doc)):
        problems.extend(f"Statement[{index}]: {problem}" for problem in _statement_problems(statement))
    return problems


def _condition_holds(operator: str, key: str, raw: object, context: RequestContext) -> bool:
    spec = _OPERATORS[operator]
    value = context.value(key)
    try:
        actual = None if value is None else spec.read_context(value)
    except ValueError:
        actual = None
    if actual is None:
        return spec.negated
    matched = any(spec.test(actual, spec.read_policy(expected)) for expected in _values(raw))
    return not matched if spec.negated else matched


def _applies(statement: Mapping[str, Any], action: str, resource: str, context: RequestContext) -> bool:
    listed = "Action" if "Action" in statement else "NotAction"
    named = any(_like(action, p, ignore_case=True) for p in _strings(statement[listed]) or [])
    if named != (listed == "Action"):
        return False
    if not any(_like(resource, p) for p in _strings(statement["Resource"]) or []):
        return False
    conditions = statement.get("Condition", {})
    return all(
        _condition_holds(operator, key, raw, context)
        for operator, block in conditions.items()
        for key, raw in block.items()
    )


def evaluate(
    policies: Sequence[Mapping[str, Any]], *, action: str, resource: str, context: RequestContext
) -> Decision:
    """Decide one (action, resource) request; raises ``PolicyError`` for an invalid document."""
    for policy in policies:
        if problems := validate_policy(policy):
            raise PolicyError("; ".join(problems))
    allowed = False
    for policy in policies:
        for statement in _statements(policy):
            if _applies(statement, action, resource, context):
                if statement["Effect"] == "Deny":
                    return Decision.DENY
                allowed = True
    return Decision.ALLOW if allowed else Decision.NO_MATCH
