"""Helpers of the platform tests (and the Celery webhook test): mock-mode settings, and a webhook
receiver on loopback that verifies each delivery with the `standardwebhooks` package, as a customer's
would, and can be down (not listening) for a while."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from imprint.config import Settings


def mock_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        data_dir=data_dir, mock=True, key_cache_ttl_s=0.0, rate_limit_per_s=0.0,
        # The image server and the webhook receivers listen on loopback.
        allow_fetch_from=("127.0.0.0/8",),
        webhook_retry_base_s=0.2, webhook_retry_cap_s=0.5, webhook_poll_s=0.05)
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class Receiver:
    def __init__(self, port: int, secret: str | None = None) -> None:
        self.port, self.secret = port, secret
        self.verified: list[dict[str, Any]] = []
        self.message_ids: list[str] = []
        self.refused = 0
        self._httpd: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def up(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    assert receiver.secret is not None
                    payload = Webhook(receiver.secret).verify(body, headers)
                except (WebhookVerificationError, AssertionError):
                    receiver.refused += 1
                    self.send_response(400)
                else:
                    receiver.verified.append(payload)
                    receiver.message_ids.append(headers["webhook-id"])
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def events(self) -> list[tuple[str, str]]:
        return [(p["type"], p["data"]["jobStatus"]) for p in self.verified]

    def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.verified) < count:
            assert time.monotonic() < deadline, f"got {json.dumps(self.verified)[:2000]}"
            time.sleep(0.05)
        return self.verified
