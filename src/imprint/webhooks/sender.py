"""One signed POST to a webhook URL, connecting only where a training image could be fetched from.

The address vetting is the image fetcher's (`imprint.ingest`): the host is resolved once, every
address is vetted (loopback and private networks only with `--allow-fetch-from`, metadata addresses
never), and the connection goes to the vetted address. Redirects are not followed: a receiver that
moved says so by failing, and the operator sees the 3xx in `imprint webhooks deliveries`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from imprint.ingest.fetch import pin_host
from imprint.ingest.pinning import Deadline, PinnedBackend, PinnedTransport, Resolver, system_resolver
from imprint.ingest.policy import FetchPolicy

USER_AGENT = "imprint-webhooks"


def signed_headers(secret: str, message_id: str, body: str, when: datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers: id, timestamp and the v1 HMAC-SHA256 signature."""
    when = when or datetime.now(UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, when, body),
            "content-type": "application/json", "user-agent": USER_AGENT}


def post(url: str, body: str, headers: dict[str, str], policy: FetchPolicy, *,
         resolver: Resolver = system_resolver) -> int:
    """The receiver's HTTP status; raises URLRejected or an httpx error when it could not be asked."""
    deadline = Deadline(policy.total_timeout_s)
    backend = PinnedBackend({}, deadline)
    transport = PinnedTransport(backend, httpx.create_ssl_context())
    timeout = httpx.Timeout(policy.read_timeout_s, connect=policy.connect_timeout_s)
    # trust_env=False: a proxy would connect somewhere other than the vetted address.
    with httpx.Client(transport=transport, trust_env=False, follow_redirects=False,
                      timeout=timeout) as client:
        target = policy.vet_url(url)
        pin_host(target, policy, backend, resolver, deadline)
        response = client.post(target, content=body.encode(), headers=headers)
        return response.status_code
