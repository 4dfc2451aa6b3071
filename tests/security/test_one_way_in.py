"""Every operation enters through the one ASGI app: the signature, then the nonce claim (awaited in a
batch with the other requests in flight), then throttle, RAM and handler. Replays are refused the
same way for every operation, however many copies arrive at once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from seckit import OPS, PREFIX, SecServer, Tenant, sign

from imprint.api.app import Dispatcher, ImprintApp, create_app
from imprint.api.operations import OPERATIONS
from imprint.store.nonces.batch import ClaimBatcher


def test_the_app_has_no_second_way_in(server: SecServer) -> None:
    app = server.runtime.app
    # Operations go to the one dispatcher, everything else to the router, whose catch-all is that
    # same dispatcher; no middleware but none at all in the router, the metrics around both.
    assert isinstance(app, ImprintApp) and isinstance(app.dispatcher, Dispatcher)
    assert app.pages.user_middleware == []
    assert not hasattr(app.state, "image_reads")
    assert {op.action for op in OPERATIONS} and all(not hasattr(op, "inline") for op in OPERATIONS)


def _query(op: str, t: Tenant) -> dict[str, str]:
    return {"queryImageAsset": {"modelId": t.model_id, "promptId": t.prompt_id, "imageId": t.image_ids[0]},
            "queryModelTrainStatus": {"modelId": t.model_id},
            "queryModelTrainJobList": {},
            "queryInferenceJobInfo": {"inferenceJobId": str(t.job_id)}}[op]


@pytest.mark.parametrize("op", ["queryImageAsset", "queryModelTrainStatus", "queryModelTrainJobList",
                                "queryInferenceJobInfo"])
def test_copies_of_one_request_sent_at_once_are_served_once(server: SecServer, alice: Tenant, op: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[int] = []
    original = ClaimBatcher._flush

    def counting(self: ClaimBatcher, loop: asyncio.AbstractEventLoop) -> None:
        flushed.append(len(self._pending.get(loop, [])))
        original(self, loop)

    monkeypatch.setattr(ClaimBatcher, "_flush", counting)
    action, _, method = OPS[op]
    fresh = [sign(method, PREFIX + op, _query(op, alice), b"", action=action, host=server.endpoint,
                  key=alice.root) for _ in range(4)]
    requests = fresh + [fresh[0]] * 5

    async def go() -> list[int]:
        async with httpx.AsyncClient(base_url=f"http://{server.endpoint}", timeout=30) as client:
            answers = await asyncio.gather(*(client.get(t, headers=h) for t, h in requests))
        return [a.status_code for a in answers]

    statuses = asyncio.run(go())
    assert statuses[1:4] == [200] * 3
    assert sorted([statuses[0], *statuses[4:]]) == [200, 400, 400, 400, 400, 400]
    assert sum(flushed) == len(requests) and len(flushed) < len(requests)  # claims went in groups


def test_a_replay_answers_the_nonce_error_in_the_envelope(server: SecServer, alice: Tenant) -> None:
    action, _, method = OPS["queryModelTrainJobList"]
    target, headers = sign(method, PREFIX + "queryModelTrainJobList", {}, b"", action=action,
                           host=server.endpoint, key=alice.root)
    assert httpx.get(f"http://{server.endpoint}{target}", headers=headers).status_code == 200
    again = httpx.get(f"http://{server.endpoint}{target}", headers=headers)
    assert again.status_code == 400
    assert again.json()["Code"] == "SignatureNonceUsed" and again.json()["RequestId"]


def test_every_operation_goes_to_the_dispatcher(server: SecServer) -> None:
    app = create_app(server.runtime.services)
    catch_all = app.pages.routes[-1]
    assert catch_all.path == "/{path:path}" and catch_all.app is app.dispatcher
