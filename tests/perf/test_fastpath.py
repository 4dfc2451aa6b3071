"""The image fast path answers exactly like the dispatcher behind the router, case by case.

Each case is signed twice (fresh nonces) and sent once through ``FastPath`` and once through the app
behind it (Starlette's router and the catch-all route); the answers must match in status, headers
and body, request ids aside. Both paths share one nonce store, so replays are refused across them.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from seckit import ALLOW_ALL, OPS, PREFIX, Key, SecServer, Tenant, policy, settings, sign, start

from imprint.api.fastpath import FastPath

ASGI = Callable[..., Any]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def normalized(self) -> tuple[int, dict[str, str], Any]:
        headers = {k: v for k, v in self.headers.items() if k not in ("x-acs-request-id", "content-length")}
        body: Any = self.body
        if self.headers.get("content-type", "").startswith("application/json"):
            fields = json.loads(self.body).items()
            body = {k: _unsalted(v) for k, v in fields if k not in ("requestId", "RequestId")}
        return self.status, headers, body


def _unsalted(value: Any) -> Any:
    # A signature mismatch quotes the string to sign: the hash of the request, nonce included.
    return value.partition("string to sign is:")[0] if isinstance(value, str) else value


def call(app: ASGI, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> Answer:
    path, _, query = target.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start_msg = sent[0]
    return Answer(start_msg["status"], {k.decode(): v.decode() for k, v in start_msg["headers"]},
                  b"".join(m.get("body", b"") for m in sent[1:]))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecServer]:
    srv = start(settings(tmp_path_factory.mktemp("fastpath-data")))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def paths(server: SecServer) -> tuple[ASGI, ASGI]:
    """(fast, slow): the FastPath middleware, and the app it hands everything else to."""
    layer: Any = server.runtime.app.build_middleware_stack()
    while not isinstance(layer, FastPath):
        layer = layer.app
    return layer, layer.app


@pytest.fixture(scope="module")
def alice(server: SecServer) -> Tenant:
    return server.seed(server.account("alice"), ["https://photos.example/a.png"])


@pytest.fixture(scope="module")
def bob(server: SecServer) -> Tenant:
    return server.seed(server.account("bob"), ["https://photos.example/b.png"])


def signed(server: SecServer, key: Key, op: str, query: dict[str, str], *, when: datetime | None = None,
           tamper: bool = False, **extra: str) -> tuple[str, dict[str, str]]:
    action, _, method = OPS[op]
    extra_headers = {k.replace("_", "-"): v for k, v in extra.items() if k.startswith("x_acs")}
    target, headers = sign(method, PREFIX + op, query, b"", action=action, host=server.endpoint, key=key,
                           extra=extra_headers, when=when)
    if tamper:
        target += "x"
    unsigned = {k.replace("_", "-"): v for k, v in extra.items() if not k.startswith("x_acs")}
    return target, {**headers, **unsigned}


def both(server: SecServer, paths: tuple[ASGI, ASGI], make: Callable[[], tuple[str, dict[str, str]]],
         *, times: int = 1, method: str = "GET") -> tuple[list[Answer], list[Answer]]:
    fast, slow = paths
    answers = []
    for app in (fast, slow):
        target, headers = make()  # a fresh signature and nonce for each path
        answers.append([call(app, method, target, headers) for _ in range(times)])
    return answers[0], answers[1]


def assert_same(fast: list[Answer], slow: list[Answer]) -> None:
    assert [a.normalized() for a in fast] == [a.normalized() for a in slow]


def v1_query(t: Tenant, **more: str) -> dict[str, str]:
    return {"modelId": t.model_id, "promptId": t.prompt_id, "imageId": t.image_ids[0], **more}


def test_an_image_is_served_the_same(server: SecServer, paths: tuple[ASGI, ASGI], alice: Tenant) -> None:
    fast, slow = both(server, paths, lambda: signed(server, alice.root, "queryImageAsset", v1_query(alice)))
    assert_same(fast, slow)
    assert fast[0].status == 200 and fast[0].headers["content-type"] == "image/png"
    assert fast[0].body.startswith(b"\x89PNG") and fast[0].headers["etag"]
    assert fast[0].headers["x-acs-request-id"] != slow[0].headers["x-acs-request-id"]


def test_base64_and_the_v2_operation(server: SecServer, paths: tuple[ASGI, ASGI], alice: Tenant) -> None:
    fast, slow = both(server, paths, lambda: signed(server, alice.root, "queryImageAsset",
                                                    v1_query(alice, encodeFormat="base64")))
    assert_same(fast, slow)
    assert base64.b64decode(fast[0].body).startswith(b"\x89PNG")
    fast, slow = both(server, paths, lambda: signed(server, alice.root, "queryImageAssetFromImageId",
                                                    {"imageId": alice.v2_image_ids[0]}))
    assert_same(fast, slow)
    assert fast[0].status == 200


def test_if_none_match(server: SecServer, paths: tuple[ASGI, ASGI], alice: Tenant) -> None:
    first = call(paths[0], "GET", *signed(server, alice.root, "queryImageAsset", v1_query(alice)))
    etag = first.headers["etag"]
    fast, slow = both(server, paths, lambda: signed(server, alice.root, "queryImageAsset", v1_query(alice),
                                                    If_None_Match=etag))
    assert_same(fast, slow)
    assert fast[0].status == 304 and fast[0].body == b""


def test_a_replay_is_refused_the_same(server: SecServer, paths: tuple[ASGI, ASGI], alice: Tenant) -> None:
    fast, slow = both(server, paths, lambda: signed(server, alice.root, "queryImageAsset", v1_query(alice)),
                      times=3)
    assert_same(fast, slow)
    assert [a.status for a in fast] == [200, 400, 400]
    assert json.loads(fast[1].body)["Code"] == "SignatureNonceUsed"


def test_a_replay_is_refused_across_the_two_paths(server: SecServer, paths: tuple[ASGI, ASGI],
                                                  alice: Tenant) -> None:
    fast, slow = paths
    for first, second in ((fast, slow), (slow, fast)):
        target, headers = signed(server, alice.root, "queryImageAsset", v1_query(alice))
        assert call(first, "GET", target, headers).status == 200
        again = call(second, "GET", target, headers)
        assert again.status == 400 and json.loads(again.body)["Code"] == "SignatureNonceUsed"


@pytest.mark.parametrize("case", ["tampered", "stale", "wrong action", "unknown key", "no image id",
                                  "bad format", "other tenant", "replayed after a refusal"])
def test_refusals_are_the_same(server: SecServer, paths: tuple[ASGI, ASGI], alice: Tenant, bob: Tenant,
                               case: str) -> None:
    key, op, query, kw = alice.root, "queryImageAsset", v1_query(alice), {}
    times = 1
    if case == "tampered":
        kw = {"tamper": True}
    elif case == "stale":
        kw = {"when": datetime.now(UTC) - timedelta(minutes=20)}
    elif case == "wrong action":
        kw = {"x_acs_action": "Personalizedtxt2imgQueryModelTrainStatus"}
    elif case == "unknown key":
        key = Key("LTAI-nobody", "secret")
    elif case == "no image id":
        query = {"modelId": alice.model_id, "promptId": alice.prompt_id}
    elif case == "bad format":
        query = v1_query(alice, encodeFormat="jpeg")
    elif case == "other tenant":
        query = v1_query(bob)  # alice's key, bob's ids: not found, never bob's image
    elif case == "replayed after a refusal":
        query, times = v1_query(bob), 2
    fast, slow = both(server, paths, lambda: signed(server, key, op, query, **kw), times=times)
    assert_same(fast, slow)
    assert all(a.status >= 400 for a in fast), [a.status for a in fast]


def test_ram_users_are_authorized_the_same(server: SecServer, paths: tuple[ASGI, ASGI],
                                           alice: Tenant) -> None:
    _, allowed = server.user(alice.account_id, ALLOW_ALL)
    _, nothing = server.user(alice.account_id)
    action = "aicontent:Personalizedtxt2imgQueryImageAsset"
    deny = policy({"Effect": "Deny", "Action": action, "Resource": "*"})
    _, denied = server.user(alice.account_id, ALLOW_ALL, deny)
    expected = {allowed: 200, nothing: 403, denied: 403}
    for key, status in expected.items():
        fast, slow = both(server, paths, lambda k=key: signed(server, k, "queryImageAsset", v1_query(alice)),
                          times=2)
        assert_same(fast, slow)
        # The nonce is spent by the signature check, before the RAM check: the replay is a replay.
        assert [a.status for a in fast] == [status, 400]


def test_temporary_keys_are_served_the_same(server: SecServer, paths: tuple[ASGI, ASGI],
                                            alice: Tenant) -> None:
    user_id, _ = server.user(alice.account_id, ALLOW_ALL)
    temporary = server.temporary(user_id)
    fast, slow = both(server, paths, lambda: signed(server, temporary, "queryImageAsset", v1_query(alice)))
    assert_same(fast, slow)
    assert fast[0].status == 200


def test_other_methods_and_paths_are_left_to_the_router(server: SecServer, paths: tuple[ASGI, ASGI],
                                                        alice: Tenant) -> None:
    fast, slow = both(server, paths, lambda: signed(server, alice.root, "queryImageAsset", v1_query(alice)),
                      method="POST")
    assert_same(fast, slow)
    assert fast[0].status == 405


def test_concurrent_requests_share_one_claim_batch_and_one_nonce_wins(server: SecServer,
                                                                      paths: tuple[ASGI, ASGI],
                                                                      alice: Tenant) -> None:
    fast, _ = paths
    requests = [signed(server, alice.root, "queryImageAsset", v1_query(alice)) for _ in range(6)]
    requests += [requests[0]] * 4  # the same request, sent five times at once

    async def go() -> list[int]:
        statuses = []
        for target, headers in requests:
            statuses.append(asyncio.ensure_future(_status(fast, target, headers)))
        return list(await asyncio.gather(*statuses))

    statuses = asyncio.run(go())
    assert statuses[1:6] == [200] * 5
    assert sorted([statuses[0], *statuses[6:]]) == [200, 400, 400, 400, 400]


async def _status(app: ASGI, target: str, headers: dict[str, str]) -> int:
    path, _, query = target.partition("?")
    sent = await _send_raw(app, path, query, [(k.lower().encode(), v.encode()) for k, v in headers.items()])
    return int(sent[0]["status"])


async def _send_raw(app: ASGI, path: str, query: str, raw: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    """One bodiless GET with exactly these raw headers; returns the ASGI messages the app sent."""
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
             "raw_path": path.encode(), "query_string": query.encode(), "root_path": "", "headers": raw,
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def call_with_body(app: ASGI, target: str, headers: dict[str, str], chunks: list[bytes]) -> Answer:
    """``call`` with the body sent in several ASGI messages."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080),
    }
    last = len(chunks) - 1
    messages = [{"type": "http.request", "body": c, "more_body": i < last} for i, c in enumerate(chunks)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return Answer(sent[0]["status"], {k.decode(): v.decode() for k, v in sent[0]["headers"]},
                  b"".join(m.get("body", b"") for m in sent[1:]))


@pytest.mark.parametrize("chunks", [[b"xyz"], [b"ab", b"", b"cd"], [b"a" * 100]])
def test_a_body_on_an_image_read_is_treated_the_same(server: SecServer, paths: tuple[ASGI, ASGI],
                                                     alice: Tenant, chunks: list[bytes]) -> None:
    # The body is hashed into the signature (unsigned here, so both refuse it) and capped by size.
    answers = []
    for app in paths:
        target, headers = signed(server, alice.root, "queryImageAsset", v1_query(alice))
        answers.append([call_with_body(app, target, headers, list(chunks))])
    assert_same(*answers)
    assert answers[0][0].status == 400


def test_a_declared_oversized_body_is_refused_the_same(server: SecServer, paths: tuple[ASGI, ASGI],
                                                       alice: Tenant) -> None:
    too_big = str(server.runtime.settings.max_body_bytes + 1)
    fast, slow = both(server, paths, lambda: signed(server, alice.root, "queryImageAsset", v1_query(alice),
                                                    Content_Length=too_big))
    assert_same(fast, slow)
    assert fast[0].status == 413


def test_repeated_if_none_match_headers_use_the_first_the_same(server: SecServer, paths: tuple[ASGI, ASGI],
                                                               alice: Tenant) -> None:
    first = call(paths[0], "GET", *signed(server, alice.root, "queryImageAsset", v1_query(alice)))
    etag = first.headers["etag"]
    for values in ([etag, '"other"'], ['"other"', etag]):
        answers = []
        for app in paths:
            target, headers = signed(server, alice.root, "queryImageAsset", v1_query(alice))
            path, _, query = target.partition("?")
            raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            raw += [(b"if-none-match", v.encode()) for v in values]
            answers.append([_call_raw(app, path, query, raw)])
        assert_same(*answers)
        assert answers[0][0].status == (304 if values[0] == etag else 200)


def test_base64_not_modified_and_percent_encoded_ids_are_the_same(server: SecServer, paths: tuple[ASGI, ASGI],
                                                                  alice: Tenant) -> None:
    first = call(paths[0], "GET", *signed(server, alice.root, "queryImageAsset",
                                          v1_query(alice, encodeFormat="base64")))
    fast, slow = both(server, paths, lambda: signed(server, alice.root, "queryImageAsset",
                                                    v1_query(alice, encodeFormat="base64"),
                                                    If_None_Match=first.headers["etag"]))
    assert_same(fast, slow)
    assert fast[0].status == 304
    # An id that needs escaping (a space and a slash): both paths decode the query alike.
    fast, slow = both(server, paths, lambda: signed(server, alice.root, "queryImageAsset",
                                                    v1_query(alice, imageId="no such/id 1")))
    assert_same(fast, slow)
    assert fast[0].status == 404


def _call_raw(app: ASGI, path: str, query: str, raw: list[tuple[bytes, bytes]]) -> Answer:
    sent = asyncio.run(_send_raw(app, path, query, raw))
    return Answer(sent[0]["status"], {k.decode(): v.decode() for k, v in sent[0]["headers"]},
                  b"".join(m.get("body", b"") for m in sent[1:]))


def test_a_cached_image_opens_no_database_session(server: SecServer, paths: tuple[ASGI, ASGI], alice: Tenant,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    services = server.runtime.services
    opened: list[object] = []
    real = services.sessions

    def counting() -> Any:
        opened.append(1)
        return real()

    fast, slow = paths
    # The first fetch may open one (a cache miss); the hits after it open none, on both paths.
    monkeypatch.setattr(services, "sessions", counting)
    for app in (fast, slow):
        assert call(app, "GET", *signed(server, alice.root, "queryImageAsset", v1_query(alice))).status == 200
    before = len(opened)
    for app in (fast, slow):
        assert call(app, "GET", *signed(server, alice.root, "queryImageAsset", v1_query(alice))).status == 200
    assert len(opened) == before
    # A call that does need the database still gets its session, and commits through it.
    target, headers = signed(server, alice.root, "queryModelTrainJobList", {})
    assert call(slow, "GET", target, headers).status == 200
    assert len(opened) == before + 1


def test_root_keys_skip_the_request_context_ram_users_do_not(server: SecServer, paths: tuple[ASGI, ASGI],
                                                             alice: Tenant,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from imprint.api import auth_dependency

    built: list[object] = []
    real = auth_dependency.request_context

    def spy(**kwargs: Any) -> Any:
        built.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(auth_dependency, "request_context", spy)
    _, allowed = server.user(alice.account_id, ALLOW_ALL)
    for app in paths:
        assert call(app, "GET", *signed(server, alice.root, "queryImageAsset", v1_query(alice))).status == 200
    assert built == []
    for app in paths:
        assert call(app, "GET", *signed(server, allowed, "queryImageAsset", v1_query(alice))).status == 200
    assert len(built) == 2


@pytest.mark.parametrize(("fmt", "status"), [(None, 200), ("base64", 200), (None, 304), ("base64", 304)])
def test_image_responses_carry_the_headers_starlette_would_build(fmt: str | None, status: int) -> None:
    from starlette.responses import Response

    from imprint.api.images import CACHE_CONTROL, image_response
    from imprint.service.domain import ImageContent

    image = ImageContent(_Asset("ab" * 32),  # type: ignore[arg-type]
                         b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    etag = f'"{"ab" * 32}-b64"' if fmt else f'"{"ab" * 32}"'
    ours = image_response(image, fmt, if_none_match=etag if status == 304 else None, request_id="RID-1")
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "x-acs-request-id": "RID-1"}
    if status == 304:
        theirs = Response(status_code=304, headers=headers)
    elif fmt == "base64":
        theirs = Response(base64.b64encode(image.data), media_type="text/plain; charset=utf-8",
                          headers=headers)
    else:
        theirs = Response(image.data, media_type="image/png", headers=headers)
    assert ours.status_code == theirs.status_code
    assert (ours.raw_headers, ours.body) == (theirs.raw_headers, theirs.body)


@dataclass(frozen=True)
class _Asset:
    sha256: str
