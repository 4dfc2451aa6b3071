"""Test helpers: a real imprint server on a loopback port, an image server, and SDK clients."""

from __future__ import annotations

import http.server
import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from alibabacloud_aicontent20240611 import models as m
from alibabacloud_aicontent20240611.client import Client as NewClient
from alibabacloud_tea_openapi import models as open_api_models
from serving_kit import as_served, serve_in_thread

from imprint.config import Settings
from imprint.runtime import Runtime, build_runtime
from imprint.world.render import render
from imprint.world.subject import Subject

FINAL = {
    "FINISHED",
    "TRAINING_TERMINATED",
    "INFERRING_TERMINATED",
    "WRONG_IMAGE_URL",
    "OOM",
    "TOO_MANY_INFERENCE_REQUESTS",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def png_bytes(seed: int, kind: str = "dog") -> bytes:
    buf = io.BytesIO()
    render(Subject(kind, "brown", "spotted", "scarf", "red"), "beach", seed=seed).save(buf, format="PNG")
    return buf.getvalue()


class ImageServer:
    """Serves registered bytes at /<name> on loopback; anything else is a 404."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                data = files.get(self.path.lstrip("/"))
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def add(self, name: str, data: bytes) -> str:
        self.files[name] = data
        return f"http://127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        self._httpd.shutdown()


@dataclass
class Server:
    runtime: Runtime
    port: int
    access_key_id: str
    secret: str
    _uvicorn: uvicorn.Server
    _thread: threading.Thread

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def new_client(self, **config: Any) -> NewClient:
        return NewClient(
            open_api_models.Config(
                access_key_id=config.pop("access_key_id", self.access_key_id),
                access_key_secret=config.pop("access_key_secret", self.secret),
                endpoint=self.endpoint,
                protocol="http",
                region_id="cn-shanghai",
                **config,
            )
        )

    def old_client(self, access_key_id: str | None = None, secret: str | None = None) -> Any:
        from aliyunsdkcore.client import AcsClient

        return AcsClient(access_key_id or self.access_key_id, secret or self.secret, "cn-shanghai")

    def stop(self) -> None:
        self._uvicorn.should_exit = True
        self._thread.join(10)
        self.runtime.stop(timeout=30)


def settings_for(data_dir: Path, base_model: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        data_dir=data_dir,
        base_model=str(base_model),
        default_train_steps=3,
        default_inference_steps=2,
        key_cache_ttl_s=0.0,
        # The image server below listens on loopback, which the fetcher refuses unless allowed.
        allow_fetch_from=("127.0.0.0/8",),
    )
    values.update(overrides)
    return Settings(**values)


def start_server(settings: Settings, *, first_key: tuple[str, str] | None = None) -> Server:
    runtime = build_runtime(settings)
    if runtime.first_key is not None:
        key = (runtime.first_key.access_key_id, runtime.first_key.secret)
    else:
        assert first_key is not None, "a restarted server needs the key created on its first start"
        key = first_key
    runtime.start()
    port = free_port()
    server = as_served(runtime.app, port)
    thread = serve_in_thread(server)
    return Server(runtime, port, key[0], key[1], server, thread)


@contextmanager
def running(settings: Settings, **kw: Any) -> Iterator[Server]:
    server = start_server(settings, **kw)
    try:
        yield server
    finally:
        server.stop()


def wait_for(fetch: Callable[[], Any], status_of: Callable[[Any], str], *, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if status_of(value) in FINAL:
            return value
        assert time.monotonic() < deadline, f"job still {status_of(value)} after {timeout}s"
        time.sleep(0.2)


def train_model(client: NewClient, urls: list[str], *, steps: int = 3) -> str:
    resp = client.personalizedtxt_2img_add_model_train_job(
        m.Personalizedtxt2imgAddModelTrainJobRequest(
            name="my dog", object_type="dog", image_url=urls, train_steps=steps
        )
    )
    model_id = resp.body.data.model_id
    status = wait_for(
        lambda: (
            client.personalizedtxt_2img_query_model_train_status(
                m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=model_id)
            ).body
        ),
        lambda body: body.data.model_train_status,
    )
    assert status.data.model_train_status == "FINISHED", status.to_map()
    return model_id


def raw_call(client: NewClient, action: str, *, query: dict[str, Any] | None = None,
             body: dict[str, Any] | None = None, body_type: str = "json", path: str | None = None) -> Any:
    """One operation through the SDK's generic `call_api`: the whole JSON body (fields the typed
    models drop included) or, with body_type="byte", the raw bytes."""
    from alibabacloud_tea_openapi import utils_models
    from darabonba.runtime import RuntimeOptions

    path = path or action.removeprefix("Personalizedtxt2img")
    params = utils_models.Params(
        action=action, version="20240611", protocol="HTTP", method="POST" if body is not None else "GET",
        pathname=f"/api/v1/personalizedtxt2img/{path[0].lower()}{path[1:]}", auth_type="AK", style="ROA",
        req_body_type="json", body_type=body_type)
    request = utils_models.OpenApiRequest(query=query, body=body)
    return client.call_api(params, request, RuntimeOptions())["body"]
