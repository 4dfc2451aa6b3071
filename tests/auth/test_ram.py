"""RAM policy evaluation and validation, table-driven."""

from datetime import UTC, datetime
from typing import Any

import pytest

from imprint.auth import Decision, PolicyError, RequestContext, evaluate, validate_policy

ADD = "aicontent:Personalizedtxt2imgAddModelTrainJob"
QUERY = "aicontent:Personalizedtxt2imgQueryModelTrainStatus"
ARN = "acs:aicontent:cn-shanghai:1234567890123456:model/m-1"
CONTEXT = RequestContext(
    source_ip="203.0.113.7",
    current_time=datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
    secure_transport=True,
    extra={"acs:SourceVpc": "vpc-123", "acs:Count": "5", "acs:Bad": "many"},
)
EMPTY = RequestContext()
ALLOW, DENY, NO_MATCH = Decision.ALLOW, Decision.DENY, Decision.NO_MATCH


def stmt(effect: str = "Allow", action: Any = ADD, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def pol(*statements: Any) -> dict[str, Any]:
    return {"Version": "1", "Statement": list(statements)}


def cond(operator: str, key: str, value: Any) -> dict[str, Any]:
    return pol(stmt(Condition={operator: {key: value}}))


def not_action(effect: str, actions: Any) -> dict[str, Any]:
    return pol({"Effect": effect, "NotAction": actions, "Resource": "*"})


VPC, COUNT, TIME = "acs:SourceVpc", "acs:Count", "acs:CurrentTime"
TLS, IP = "acs:SecureTransport", "acs:SourceIp"


def case(
    name: str,
    policies: dict[str, Any] | list[dict[str, Any]],
    expected: Decision,
    *,
    action: str = ADD,
    resource: str = ARN,
    context: RequestContext = CONTEXT,
) -> Any:
    docs = policies if isinstance(policies, list) else [policies]
    return pytest.param(docs, action, resource, context, expected, id=name)


CASES = [
    case("no-policies", [], NO_MATCH),
    case("allow-exact", pol(stmt()), ALLOW),
    case("allow-other-action", pol(stmt()), NO_MATCH, action=QUERY),
    case("action-case-insensitive", pol(stmt(action="AICONTENT:personalizedtxt2imgaddmodeltrainjob")), ALLOW),
    case("action-star", pol(stmt(action="*")), ALLOW),
    case("action-service-star", pol(stmt(action="aicontent:*")), ALLOW),
    case("action-other-service-star", pol(stmt(action="ram:*")), NO_MATCH),
    case("action-prefix-star", pol(stmt(action="aicontent:Personalizedtxt2img*")), ALLOW),
    case("action-middle-star", pol(stmt(action="aicontent:*Train*")), ALLOW, action=QUERY),
    case("action-question-mark", pol(stmt(action="aicontent:Personalizedtxt2imgAddModelTrainJo?")), ALLOW),
    case("action-question-mark-needs-a-char", pol(stmt(action=ADD + "?")), NO_MATCH),
    case("action-list", pol(stmt(action=[QUERY, ADD])), ALLOW),
    case("statement-as-object", {"Version": "1", "Statement": stmt()}, ALLOW),
    case("deny-wins", [pol(stmt()), pol(stmt("Deny"))], DENY),
    case("deny-wins-in-any-order", [pol(stmt("Deny", action="aicontent:*")), pol(stmt(action="*"))], DENY),
    case("deny-wins-within-a-policy", pol(stmt("Deny"), stmt()), DENY),
    case("deny-other-action", pol(stmt(action="*"), stmt("Deny", action=QUERY)), ALLOW),
    case("deny-alone", pol(stmt("Deny")), NO_MATCH, action=QUERY),
    case("not-action-allow", not_action("Allow", "ram:*"), ALLOW),
    case("not-action-allow-excluded", not_action("Allow", ["ram:*", "aicontent:*Add*"]), NO_MATCH),
    case("not-action-deny", [pol(stmt(action="*")), not_action("Deny", "aicontent:*Query*")], DENY),
    case("not-action-deny-excluded", [pol(stmt(action="*")), not_action("Deny", "aicontent:*Query*")], ALLOW,
         action=QUERY),
    case("resource-arn-wildcards", pol(stmt(resource="acs:aicontent:*:*:*")), ALLOW),
    case("resource-other-region", pol(stmt(resource="acs:aicontent:cn-beijing:*:*")), NO_MATCH),
    case("resource-account", pol(stmt(resource="acs:aicontent:*:1234567890123456:model/*")), ALLOW),
    case("resource-case-sensitive", pol(stmt(resource="acs:aicontent:*:*:Model/*")), NO_MATCH),
    case("resource-list", pol(stmt(resource=["acs:oss:*:*:*", "acs:aicontent:*:*:*"])), ALLOW),
    # String operators
    case("StringEquals", cond("StringEquals", VPC, "vpc-123"), ALLOW),
    case("StringEquals-no", cond("StringEquals", VPC, "VPC-123"), NO_MATCH),
    case("StringEquals-any-value", cond("StringEquals", VPC, ["vpc-9", "vpc-123"]), ALLOW),
    case("StringNotEquals", cond("StringNotEquals", VPC, "vpc-9"), ALLOW),
    case("StringNotEquals-no", cond("StringNotEquals", VPC, ["vpc-9", "vpc-123"]), NO_MATCH),
    case("StringEqualsIgnoreCase", cond("StringEqualsIgnoreCase", VPC, "VPC-123"), ALLOW),
    case("StringNotEqualsIgnoreCase-no", cond("StringNotEqualsIgnoreCase", VPC, "VPC-123"), NO_MATCH),
    case("StringLike", cond("StringLike", VPC, "vpc-1?3"), ALLOW),
    case("StringLike-no", cond("StringLike", VPC, "vpc-9*"), NO_MATCH),
    case("StringNotLike", cond("StringNotLike", VPC, "vpc-9*"), ALLOW),
    case("StringNotLike-no", cond("StringNotLike", VPC, "vpc-*"), NO_MATCH),
    case("condition-key-case-insensitive", cond("StringEquals", "ACS:SOURCEVPC", "vpc-123"), ALLOW),
    # Numeric operators
    case("NumericEquals", cond("NumericEquals", COUNT, "5.0"), ALLOW),
    case("NumericEquals-number", cond("NumericEquals", COUNT, 5), ALLOW),
    case("NumericNotEquals-no", cond("NumericNotEquals", COUNT, "5"), NO_MATCH),
    case("NumericNotEquals", cond("NumericNotEquals", COUNT, "6"), ALLOW),
    case("NumericLessThan", cond("NumericLessThan", COUNT, "6"), ALLOW),
    case("NumericLessThan-no", cond("NumericLessThan", COUNT, "5"), NO_MATCH),
    case("NumericLessThanEquals", cond("NumericLessThanEquals", COUNT, "5"), ALLOW),
    case("NumericGreaterThan", cond("NumericGreaterThan", COUNT, "4.5"), ALLOW),
    case("NumericGreaterThan-no", cond("NumericGreaterThan", COUNT, "5"), NO_MATCH),
    case("NumericGreaterThanEquals", cond("NumericGreaterThanEquals", COUNT, "5"), ALLOW),
    case("Numeric-unreadable-context", cond("NumericEquals", "acs:Bad", "5"), NO_MATCH),
    # Date operators
    case("DateEquals-other-offset", cond("DateEquals", TIME, "2026-11-25T16:00:00+08:00"), ALLOW),
    case("DateNotEquals-no", cond("DateNotEquals", TIME, "2026-11-25T08:00:00Z"), NO_MATCH),
    case("DateLessThan", cond("DateLessThan", TIME, "2027-01-01T00:00:00Z"), ALLOW),
    case("DateLessThan-no", cond("DateLessThan", TIME, "2026-01-01T00:00:00Z"), NO_MATCH),
    case("DateLessThanEquals", cond("DateLessThanEquals", TIME, "2026-11-25T08:00:00Z"), ALLOW),
    case("DateGreaterThan", cond("DateGreaterThan", TIME, "2026-01-01T00:00:00Z"), ALLOW),
    case("DateGreaterThanEquals-no", cond("DateGreaterThanEquals", TIME, "2026-11-25T08:00:01Z"), NO_MATCH),
    # Bool
    case("Bool-string", cond("Bool", TLS, "true"), ALLOW),
    case("Bool-json", cond("Bool", TLS, True), ALLOW),
    case("Bool-no", cond("Bool", TLS, "false"), NO_MATCH),
    case(
        "Bool-deny-plain-http",
        pol(stmt(action="*"), stmt("Deny", action="*", Condition={"Bool": {TLS: "false"}})),
        DENY,
        context=RequestContext(secure_transport=False),
    ),
    # IP
    case("IpAddress-cidr", cond("IpAddress", IP, "203.0.113.0/24"), ALLOW),
    case("IpAddress-single", cond("IpAddress", IP, "203.0.113.7"), ALLOW),
    case("IpAddress-list", cond("IpAddress", IP, ["10.0.0.0/8", "203.0.113.0/24"]), ALLOW),
    case("IpAddress-no", cond("IpAddress", IP, "10.0.0.0/8"), NO_MATCH),
    case("IpAddress-v6-context", cond("IpAddress", IP, "10.0.0.0/8"), NO_MATCH,
         context=RequestContext(source_ip="2001:db8::1")),
    case("NotIpAddress", cond("NotIpAddress", IP, "10.0.0.0/8"), ALLOW),
    case("NotIpAddress-no", cond("NotIpAddress", IP, "203.0.113.0/24"), NO_MATCH),
    # Combining conditions: several operators AND, several keys AND
    case("two-operators-both-hold",
         pol(stmt(Condition={"IpAddress": {IP: "203.0.113.0/24"}, "Bool": {TLS: "true"}})), ALLOW),
    case("two-operators-one-fails",
         pol(stmt(Condition={"IpAddress": {IP: "203.0.113.0/24"}, "Bool": {TLS: "false"}})), NO_MATCH),
    case("two-keys-one-fails", pol(stmt(Condition={"StringEquals": {VPC: "vpc-123", COUNT: "6"}})), NO_MATCH),
    # Missing keys: positive operators fail, negated ones hold
    case("missing-StringEquals", cond("StringEquals", VPC, "vpc-123"), NO_MATCH, context=EMPTY),
    case("missing-StringNotEquals", cond("StringNotEquals", VPC, "vpc-123"), ALLOW, context=EMPTY),
    case("missing-IpAddress", cond("IpAddress", IP, "0.0.0.0/0"), NO_MATCH, context=EMPTY),
    case("missing-NotIpAddress", cond("NotIpAddress", IP, "10.0.0.0/8"), ALLOW, context=EMPTY),
    case("missing-Date", cond("DateLessThan", TIME, "2100-01-01T00:00:00Z"), NO_MATCH, context=EMPTY),
    case("missing-Bool", cond("Bool", TLS, "false"), NO_MATCH, context=EMPTY),
    case("missing-key-deny-not-applied",
         pol(stmt(), stmt("Deny", Condition={"IpAddress": {IP: "0.0.0.0/0"}})), ALLOW, context=EMPTY),
]


@pytest.mark.parametrize(("policies", "action", "resource", "context", "expected"), CASES)
def test_evaluate(
    policies: list[dict[str, Any]], action: str, resource: str, context: RequestContext, expected: Decision
) -> None:
    assert evaluate(policies, action=action, resource=resource, context=context) is expected


INVALID = [
    ("not-an-object", ["Version"], "JSON object"),
    ("bad-version", {"Version": "2", "Statement": [stmt()]}, "Version"),
    ("no-version", {"Statement": [stmt()]}, "Version"),
    ("unknown-top-level", {"Version": "1", "Statement": [stmt()], "Id": "x"}, "top-level"),
    ("no-statement", {"Version": "1"}, "Statement"),
    ("empty-statement", {"Version": "1", "Statement": []}, "Statement"),
    ("statement-not-object", pol("Allow"), "must be an object"),
    ("effect-lowercase", pol(stmt("allow")), "Effect"),
    ("action-and-not-action", pol(stmt(NotAction="ram:*")), "exactly one"),
    ("neither-action", pol({"Effect": "Allow", "Resource": "*"}), "exactly one"),
    ("action-not-string", pol(stmt(action=5)), "Action must be"),
    ("action-empty-list", pol(stmt(action=[])), "Action must be"),
    ("action-without-service", pol(stmt(action="PutObject")), "<service>:<api>"),
    ("no-resource", pol({"Effect": "Allow", "Action": ADD}), "Resource"),
    ("principal", pol(stmt(Principal={"RAM": "*"})), "Principal"),
    ("unknown-statement-key", pol(stmt(Sid="x")), "unknown keys"),
    ("condition-not-object", pol(stmt(Condition=["x"])), "Condition must be"),
    ("unknown-operator", pol(stmt(Condition={"StringEqualz": {VPC: "v"}})), "unknown condition"),
    ("operator-block-not-object", pol(stmt(Condition={"StringEquals": "v"})), "must map"),
    ("empty-values", pol(stmt(Condition={"StringEquals": {VPC: []}})), "no values"),
    ("bad-number", pol(stmt(Condition={"NumericEquals": {COUNT: "five"}})), "not a valid value"),
    ("nan", pol(stmt(Condition={"NumericLessThan": {COUNT: "NaN"}})), "not a valid value"),
    ("bad-date", pol(stmt(Condition={"DateLessThan": {TIME: "tomorrow"}})), "not a valid value"),
    ("bad-ip", pol(stmt(Condition={"IpAddress": {IP: "10.0.0.300"}})), "not a valid value"),
    ("bad-bool", pol(stmt(Condition={"Bool": {TLS: "yes"}})), "not a valid value"),
    ("string-number", pol(stmt(Condition={"StringEquals": {VPC: 5}})), "not a valid value"),
]


@pytest.mark.parametrize(("doc", "fragment"), [pytest.param(*case[1:], id=case[0]) for case in INVALID])
def test_validate_policy_reports_problems(doc: Any, fragment: str) -> None:
    problems = validate_policy(doc)
    assert any(fragment in problem for problem in problems), problems


VALID = [
    pol(stmt()),
    {"Version": "1", "Statement": stmt("Deny", action="aicontent:*")},
    not_action("Deny", "ram:*"),
    pol(
        stmt(
            action=["aicontent:*"],
            resource=["*"],
            Condition={
                "StringLike": {VPC: ["vpc-*"]},
                "NumericLessThan": {COUNT: 10},
                "DateLessThan": {TIME: "2027-01-01T00:00:00+08:00"},
                "Bool": {TLS: True},
                "IpAddress": {IP: ["10.0.0.0/8", "2001:db8::/32"]},
            },
        )
    ),
]


@pytest.mark.parametrize("doc", VALID)
def test_validate_policy_accepts_valid_documents(doc: dict[str, Any]) -> None:
    assert validate_policy(doc) == []


def test_evaluate_refuses_invalid_documents() -> None:
    with pytest.raises(PolicyError, match="Effect"):
        evaluate([pol(stmt()), pol(stmt("allow"))], action=ADD, resource=ARN, context=CONTEXT)
