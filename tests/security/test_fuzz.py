"""Property-based fuzzing of every operation: signed requests with random and odd parameter values
(lone surrogates and URLs with credentials among them), bodies and content types. Whatever arrives,
the answer is never a 5xx, every error is the JSON envelope, nothing shows internals, and every job
the fuzz managed to create reaches a final status when a worker runs it."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seckit import OPS, PREFIX, Key, SecServer, assert_no_leak, policy

EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

PARAMS: dict[str, tuple[str, ...]] = {
    "addModelTrainJob": ("name", "objectType", "imageUrl", "trainSteps"),
    "queryModelTrainStatus": ("modelId",),
    "queryModelTrainJobList": (),
    "addInferenceJob": ("modelId", "prompt", "imageNumber", "seed", "negativePrompt", "steps",
                        "guidanceScale", "width", "height", "adapterScale", "scheduler"),
    "queryInferenceJobInfo": ("inferenceJobId",),
    "queryImageAsset": ("modelId", "promptId", "imageId", "encodeFormat"),
    "addPreModelInferenceJob": ("imageUrl", "prompt", "trainSteps", "imageNumber", "seed", "strength"),
    "queryPreModelInferenceJobInfo": ("inferenceJobId",),
    "queryImageAssetFromImageId": ("imageId", "encodeFormat"),
    "cancelModelTrainJob": ("modelId",),
    "cancelInferenceJob": ("inferenceJobId",),
    "deleteModel": ("modelId",),
    "deleteInferenceJob": ("inferenceJobId",),
    "downloadModel": ("modelId", "format", "encodeFormat"),
    "uploadImage": (),  # its body is a photo: fuzzed JSON bodies are refused as not an image
}

# Query values travel as UTF-8, which cannot hold a lone surrogate; JSON bodies can (as \ud800).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
json_text = st.text(st.characters(), max_size=40)
odd_text = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1e309",
        "NaN",
        "null",
        "[]",
        "{}",
        "%00",
        "\x00",
        "../../etc/passwd",
        "<special-token>",
        "' OR 1=1 --",
        "😀" * 5,
        "a" * 3000,
        "9" * 25,
        "0000.png",
        "dog_00000000-0000-0000-0000-000000000000",
        "base64",
        "BASE64",
        "\u202e",
        "\r\n",
        "https://user:secret@photos.example/a.png",
    ]
)
numbers = st.one_of(
    st.integers(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 10, 11, 2**31 - 1, 2**31, -(2**31), 0.3, 0.8, 1.0, 1.5]),
)
surrogates = st.sampled_from(["\ud800", "a\udfffb", "https://photos.example/\ud800.png"])
scalars = st.one_of(st.none(), st.booleans(), numbers, json_text, odd_text, surrogates)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=3)),
    max_leaves=8,
)
plausible = st.one_of(
    values,
    st.lists(st.one_of(json_text, odd_text, surrogates), min_size=1, max_size=3),
    st.just(["https://photos.example/a.png"]),
    st.just("dog"),
    st.just("a <special-token> dog"),
)


def _body(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    known = st.fixed_dictionaries({}, optional={name: plausible for name in names})
    extra = st.dictionaries(text, values, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, known, extra)


raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.just(b"[" * 5000 + b"]" * 5000),  # nesting deeper than the JSON parser recurses
    st.just(b'{"imageNumber": ' + b"9" * 5000 + b"}"),  # past Python's integer-digit limit
    st.just(b'{"prompt": NaN, "seed": Infinity}'),
    st.just(b"\xff\xfe{}"),
    st.builds(lambda v: b"body=" + urllib.parse.quote(json.dumps(v)).encode(), values),
    st.builds(lambda v: json.dumps(v).encode(), values),
)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data",
        "application/octet-stream",
        "image/png",
    ]
)


@pytest.fixture(scope="module")
def fuzzer(server: SecServer) -> Key:
    """Its own account, so whatever jobs the fuzz creates never touch other tests' accounts."""
    return server.account("fuzz")


@pytest.fixture(scope="module")
def fuzz_user(server: SecServer, fuzzer: Key) -> Key:
    doc = policy(
        {
            "Effect": "Allow",
            "Action": "aicontent:*",
            "Resource": "*",
            "Condition": {"IpAddress": {"acs:SourceIp": "127.0.0.0/8"}},
        }
    )
    return server.user(server.account_of(fuzzer), doc)[1]


def _check(resp: httpx.Response) -> None:
    assert_no_leak(resp)
    if resp.status_code >= 400:  # every error is the envelope
        assert resp.headers.get("content-type", "").startswith("application/json"), resp.text
        body = resp.json()
        assert body["Code"] and body["RequestId"] and body["success"] is False


@pytest.mark.parametrize("op", list(OPS))
def test_fuzz_parameters(server: SecServer, fuzzer: Key, fuzz_user: Key, op: str) -> None:
    method = OPS[op][2]
    names = PARAMS[op]

    @FUZZ
    @given(
        query=st.dictionaries(
            st.sampled_from(names) if names else text, st.one_of(text, odd_text), max_size=4
        )
        | st.dictionaries(text, text, max_size=3),
        body=_body(names),
        as_user=st.booleans(),
    )
    def run(query: dict[str, str], body: dict[str, Any], as_user: bool) -> None:
        key = fuzz_user if as_user else fuzzer
        raw = json.dumps(body).encode() if method == "POST" else None  # surrogates as \ud800 escapes
        _check(server.call(key, op, query=query, raw=raw))

    run()


@pytest.mark.parametrize("op", [op for op, spec in OPS.items() if spec[2] == "POST"])
def test_fuzz_raw_bodies(server: SecServer, fuzzer: Key, op: str) -> None:
    @FUZZ
    @given(raw=raw_bodies, content_type=content_types)
    def run(raw: bytes, content_type: str | None) -> None:
        _check(server.call(fuzzer, op, raw=raw, content_type=content_type or "application/json"))

    run()


@FUZZ
@given(
    op=st.sampled_from(list(OPS)),
    authorization=st.one_of(
        text,
        odd_text,
        st.builds(
            lambda scheme, rest: f"{scheme} {rest}",
            st.sampled_from(["ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", "acs", "Bearer"]),
            text,
        ),
    ),
    date=st.one_of(text, odd_text),
    token=st.one_of(st.none(), text),
)
def test_fuzz_unsigned_garbage(
    server: SecServer, op: str, authorization: str, date: str, token: str | None
) -> None:
    headers = {
        "authorization": authorization,
        "x-acs-date": date,
        "date": date,
        "x-acs-signature-nonce": date,
        "x-acs-action": OPS[op][0],
        "x-acs-version": "20240611",
    }
    if token is not None:
        headers["x-acs-security-token"] = token
    safe = {k: v.encode("utf-8") for k, v in headers.items() if "\r" not in v and "\n" not in v}
    method = OPS[op][2]
    try:
        resp = httpx.request(method, f"http://{server.endpoint}{PREFIX}{op}", headers=safe, timeout=30)
    except httpx.LocalProtocolError:
        return  # a header the client itself refuses to send
    if any(ch < " " and ch != "\t" or ch == "\x7f" for v in headers.values() for ch in v):
        # A control character in a header: the HTTP layer answers its own plain 400 before the app
        # (docs/api-decisions.md, "Malformed and oversized requests").
        assert_no_leak(resp)
        assert resp.status_code == 400
        return
    _check(resp)
    assert resp.status_code in (400, 404)


NASTY = {
    "deep nesting": b"[" * 5000 + b"]" * 5000,
    "deep object nesting": b'{"a":' * 3000 + b"1" + b"}" * 3000,
    "huge integer": b'{"imageNumber": ' + b"9" * 5000 + b"}",
    "NaN and Infinity": b'{"modelId": "x", "prompt": "a", "seed": NaN, "imageNumber": Infinity}',
    "BOM and junk": b"\xef\xbb\xbf{}\xff",
    "form without body": b"name=x&objectType=dog",
    "form with nested body": b"body=" + urllib.parse.quote('{"body": {"body": []}}').encode(),
    "null bytes": b'{"prompt": "\\u0000", "modelId": "\\u0000"}',
}


@pytest.mark.parametrize("op", [op for op, spec in OPS.items() if spec[2] == "POST"])
@pytest.mark.parametrize("case", list(NASTY))
def test_known_nasty_bodies(server: SecServer, fuzzer: Key, op: str, case: str) -> None:
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        resp = server.call(fuzzer, op, raw=NASTY[case], content_type=content_type)
        _check(resp)
        assert resp.status_code in (400, 404), resp.text


def test_every_fuzzed_job_reaches_a_final_status(server: SecServer, fuzzer: Key) -> None:
    """Runs after the fuzz above (module order): each job it created, run by a worker, ends."""
    from imprint.service.states import is_terminal
    from imprint.store.rows import InferenceJobRow, TrainJobRow
    from imprint.worker.infer import run_inference_job
    from imprint.worker.train import run_train_job

    account = server.account_of(fuzzer)
    with server.sessions() as s:
        trains = [r.id for r in s.query(TrainJobRow).filter_by(account_id=account, origin="v1")]
        infers = [r.id for r in s.query(InferenceJobRow).filter_by(account_id=account)]
    for job_id in trains:
        run_train_job(server.runtime.worker, job_id)
    for job_id in infers:
        run_inference_job(server.runtime.worker, job_id)
    with server.sessions() as s:
        left = [(r.id, r.status) for r in s.query(TrainJobRow).filter_by(account_id=account)
                if not is_terminal(r.status)]
        left += [(r.id, r.status) for r in s.query(InferenceJobRow).filter_by(account_id=account)
                 if not is_terminal(r.status)]
    assert left == []
    assert _check(server.call(fuzzer, "queryModelTrainJobList")) is None
