"""Test helpers for tests/auth: the captured SDK requests, key stores and an independent signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from signing_kit import canonical_request, digest_name, signature

from imprint.auth import AccessKey, Principal, verify_request
from imprint.store.nonces import InMemoryNonceStore

DATA = Path(__file__).parent / "data" / "sdk-signed-requests.jsonl"
AKID = "LTAI5tTestAccessKeyId01"
SECRET = "TestAccessKeySecretValue0123456789"
WRONG_SECRET = SECRET[:-1] + "8"
TOKEN = "CAIS-fake-sts-token/+=="
ACCOUNT = "1234567890123456"
USER = "user-7"
PREFIX = "/api/v1/personalizedtxt2img/"
ROUTES = {
    PREFIX + "addModelTrainJob": "Personalizedtxt2imgAddModelTrainJob",
    PREFIX + "queryModelTrainStatus": "Personalizedtxt2imgQueryModelTrainStatus",
    PREFIX + "queryModelTrainJobList": "Personalizedtxt2imgQueryModelTrainJobList",
    PREFIX + "addInferenceJob": "Personalizedtxt2imgAddInferenceJob",
    PREFIX + "queryInferenceJobInfo": "Personalizedtxt2imgQueryInferenceJobInfo",
    PREFIX + "queryImageAsset": "Personalizedtxt2imgQueryImageAsset",
}


@dataclass(frozen=True)
class Req:
    """One request as the HTTP layer would hand it over."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    index: int = -1

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def scheme(self) -> str | None:
        auth = self.header("authorization")
        return auth.split(" ", 1)[0] if auth else None

    @property
    def is_sts(self) -> bool:
        return self.header("x-acs-security-token") is not None

    @property
    def signed_at(self) -> datetime:
        acs_date = self.header("x-acs-date")
        if acs_date:
            return datetime.strptime(acs_date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return datetime.strptime(self.header("date") or "", "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)

    def with_header(self, name: str, value: str) -> Req:
        """Replace a header's value in place, or append it when absent."""
        if self.header(name) is None:
            return replace(self, headers=(*self.headers, (name, value)))
        headers = tuple((k, value if k.lower() == name.lower() else v) for k, v in self.headers)
        return replace(self, headers=headers)

    def without_header(self, name: str) -> Req:
        return replace(self, headers=tuple((k, v) for k, v in self.headers if k.lower() != name.lower()))


def load_captures() -> list[Req]:
    captures = []
    for index, line in enumerate(DATA.read_text(encoding="utf-8").splitlines()):
        raw = json.loads(line)
        headers = tuple((name, value) for name, value in raw["headers"])
        body = base64.b64decode(raw["body_b64"])
        captures.append(Req(raw["method"], raw["raw_path"], headers, body, index))
    return captures


class Keys(dict[str, AccessKey]):
    """The simplest KeyLookup."""

    @classmethod
    def of(cls, *keys: AccessKey) -> Keys:
        return cls({key.access_key_id: key for key in keys})


def permanent_key(**changes: object) -> AccessKey:
    key = AccessKey(access_key_id=AKID, secret=SECRET, account_id=ACCOUNT, user_id=USER, active=True)
    return replace(key, **changes)


def sts_key(**changes: object) -> AccessKey:
    defaults: dict[str, object] = {"security_token": TOKEN, "expires_at": datetime(2100, 1, 1, tzinfo=UTC)}
    return permanent_key(**(defaults | changes))


def key_for(request: Req) -> AccessKey:
    return sts_key() if request.is_sts else permanent_key()


_DEFAULT = object()


def verify(
    request: Req,
    *,
    key: AccessKey | None | object = _DEFAULT,
    nonces: InMemoryNonceStore | None = None,
    now: datetime | None = None,
    expected_action: str | None | object = _DEFAULT,
) -> Principal:
    """Verify with the right key, a fresh nonce store and the request's own time unless told."""
    chosen = key_for(request) if key is _DEFAULT else key
    action = ROUTES.get(request.path) if expected_action is _DEFAULT else expected_action
    assert action is None or isinstance(action, str)
    return verify_request(
        method=request.method,
        raw_target=request.target,
        headers=request.headers,
        body=request.body,
        expected_action=action,
        keys=Keys.of(chosen) if isinstance(chosen, AccessKey) else Keys(),
        nonces=nonces if nonces is not None else InMemoryNonceStore(),
        now=now if now is not None else request.signed_at,
    )


# An independent signer (stdlib only, written from the public V3/ROA descriptions) for requests
# the captures do not contain.
NOW = datetime(2026, 11, 25, 8, 38, 16, tzinfo=UTC)
_nonce_counter = iter(range(10**9))


def _nonce() -> str:
    return hashlib.md5(str(next(_nonce_counter)).encode()).hexdigest()


def v3_request(
    *,
    method: str = "GET",
    target: str = PREFIX + "queryImageAsset?imageId=%E5%9B%BE+a%2Bb*c&modelId=m-1",
    body: bytes = b"",
    at: datetime = NOW,
    extra: tuple[tuple[str, str], ...] = (),
    unsigned: tuple[str, ...] = (),
    secret: str = SECRET,
    algorithm: str = "ACS3-HMAC-SHA256",
    access_key_id: str = AKID,
    signed_headers: str | None = None,
    auth_sep: str = ",",
) -> Req:
    """A V3-signed request; ``unsigned`` names headers sent but left out of SignedHeaders."""
    path = urlsplit(target).path
    action = ROUTES.get(path, "Personalizedtxt2imgQueryImageAsset")
    headers = [
        ("host", "imprint.example:8443"),
        ("x-acs-version", "20240611"),
        ("x-acs-action", action),
        ("x-acs-date", at.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("x-acs-signature-nonce", _nonce()),
        ("accept", "application/json"),
        *((("content-type", "application/json; charset=utf-8"),) if body else ()),
        ("x-acs-content-sha256", hashlib.new(digest_name(algorithm), body).hexdigest()),
    ]
    headers = [h for h in headers if h[0] not in {k.lower() for k, _ in extra}] + list(extra)
    signed = sorted(k.lower() for k, _ in headers if k.lower() not in unsigned)
    names = signed_headers if signed_headers is not None else ";".join(signed)
    params = parse_qsl(urlsplit(target).query, keep_blank_values=True)
    by_name = {n.lower(): v for n, v in headers}
    canonical = canonical_request(method, path, params, by_name, signed, body, algorithm)
    value = signature(canonical, secret, algorithm)
    auth = auth_sep.join([f"Credential={access_key_id}", f"SignedHeaders={names}", f"Signature={value}"])
    headers.append(("Authorization", f"{algorithm} {auth}"))
    return Req(method, target, tuple(headers), body)


def roa_request(
    *,
    method: str = "GET",
    target: str = PREFIX + "queryModelTrainStatus?modelId=%E6%A8%A1+1&RegionId=cn-shanghai",
    body: bytes = b"",
    at: datetime = NOW,
    extra: tuple[tuple[str, str], ...] = (),
    secret: str = SECRET,
    nonce: bool = True,
) -> Req:
    """An old-SDK-style ROA request (``k=`` for empty values, Content-MD5 on bodies)."""
    path = urlsplit(target).path
    headers = [
        ("Accept", "application/json"),
        ("Date", format_datetime(at.astimezone(UTC), usegmt=True)),
        ("x-acs-action", ROUTES.get(path, "Personalizedtxt2imgQueryModelTrainStatus")),
        ("x-acs-version", "20240611"),
        ("x-acs-signature-method", "HMAC-SHA1"),
        ("x-acs-signature-version", "1.0"),
        *((("x-acs-signature-nonce", _nonce()),) if nonce else ()),
        *extra,
    ]
    if body:
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        headers += [("Content-Type", "application/json"), ("Content-MD5", md5)]
    h = {k.lower(): v for k, v in headers}
    acs = "".join(f"{k}:{h[k]}\n" for k in sorted(k for k in h if k.startswith("x-acs-")))
    params = sorted(parse_qsl(urlsplit(target).query, keep_blank_values=True))
    resource = path + ("?" + "&".join(f"{k}={v}" for k, v in params) if params else "")
    fields = [method, h.get("accept", ""), h.get("content-md5", ""), h.get("content-type", ""), h["date"]]
    to_sign = "\n".join(fields) + "\n" + acs + resource
    signature = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    headers.append(("Authorization", f"acs {AKID}:{signature}"))
    return Req(method, target, tuple(headers), body)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
