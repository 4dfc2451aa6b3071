"""Downloads caller-chosen image URLs without letting the caller reach what the server can reach.

For each image: vet the URL, resolve its host once, vet every address, and connect only to those
(`pinning.py`); follow at most `max_redirects` redirects by hand so every hop is vetted the same way;
stop reading at `max_bytes` whatever Content-Length claims; give up when the image's deadline passes.
Then decode within the pixel budget (`decode.py`). Every failure becomes a reason for that image;
nothing a caller sends escapes as an exception from `fetch_images`.
"""

from __future__ import annotations

import logging
import ssl
from ipaddress import ip_address

import httpcore
import httpx
from PIL import Image

from imprint.ingest.addresses import IPAddress, dial_form, literal_address
from imprint.ingest.decode import ImageRejected, decode_image
from imprint.ingest.pinning import (
    Deadline,
    PinnedBackend,
    PinnedTransport,
    Resolver,
    resolve_within,
    system_resolver,
)
from imprint.ingest.policy import FetchPolicy, URLRejected
from imprint.ingest.uploads import NotAnUpload, UploadReader, is_upload_url, upload_id_of

log = logging.getLogger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
HEADERS = {"Accept": "image/*,*/*;q=0.5", "Accept-Encoding": "identity",
           "User-Agent": "imprint-image-fetcher"}
# Reasons quote the URL so the caller can tell which one failed; a pathological URL is not quoted whole.
URL_IN_REASON = 200


class ImageFetchError(Exception):
    """Some images could not be used; `reasons` maps the input index to why."""

    def __init__(self, reasons: dict[int, str], summary: str | None = None) -> None:
        self.reasons = reasons
        detail = "; ".join(f"image {i}: {why}" for i, why in sorted(reasons.items()))
        super().__init__(": ".join(part for part in (summary, detail) if part))


def fetch_images(urls: list[str], policy: FetchPolicy, *, resolver: Resolver = system_resolver,
                 network: httpcore.NetworkBackend | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 uploads: UploadReader | None = None) -> list[Image.Image]:
    """Every image, in order, or ImageFetchError naming each one that could not be used.

    `imprint://upload/<id>` URLs are read through `uploads` (bound to the job's account), never over
    the network; without a reader they are refused. `resolver` and `network` are the seams tests use
    to control DNS and see every connection attempt.
    """
    if not urls:
        raise ImageFetchError({}, "no image URLs were given")
    if len(urls) > policy.max_images:
        raise ImageFetchError({}, f"{len(urls)} images were given; at most {policy.max_images} per job")
    context = ssl_context or httpx.create_ssl_context()
    images: list[Image.Image] = []
    reasons: dict[int, str] = {}
    for index, url in enumerate(urls):
        shown = url if len(url) <= URL_IN_REASON else url[:URL_IN_REASON] + "..."
        try:
            if is_upload_url(url):
                data = _read_upload(url, uploads)
            else:
                data = download(url, policy, resolver=resolver, network=network, ssl_context=context)
            images.append(decode_image(data, policy))
        except (URLRejected, ImageRejected) as exc:
            reasons[index] = f"{shown}: {exc}"
        except httpx.TimeoutException as exc:
            reasons[index] = f"{shown}: timed out ({exc})"
        except httpx.HTTPError as exc:
            reasons[index] = f"{shown}: could not be fetched ({type(exc).__name__}: {exc})"
        except Exception as exc:
            # A decoder or library bug must cost this image, not the worker.
            log.warning("image %d of a job failed unexpectedly", index, exc_info=True)
            reasons[index] = f"{shown}: could not be used ({type(exc).__name__}: {exc})"
    if reasons:
        raise ImageFetchError(reasons)
    return images


def _read_upload(url: str, uploads: UploadReader | None) -> bytes:
    try:
        upload_id = upload_id_of(url)
    except NotAnUpload as exc:
        raise URLRejected(str(exc)) from None
    if uploads is None:
        raise URLRejected("uploaded photos cannot be used here")
    try:
        return uploads(upload_id)
    except KeyError:
        # The same words whether the upload never existed or belongs to another account.
        raise URLRejected("no such upload in this account") from None


def download(url: str, policy: FetchPolicy, *, resolver: Resolver = system_resolver,
             network: httpcore.NetworkBackend | None = None,
             ssl_context: ssl.SSLContext | None = None) -> bytes:
    """The body behind `url` after at most `policy.max_redirects` vetted redirects."""
    deadline = Deadline(policy.total_timeout_s)
    backend = PinnedBackend({}, deadline, network)
    timeout = httpx.Timeout(policy.read_timeout_s, connect=policy.connect_timeout_s)
    transport = PinnedTransport(backend, ssl_context or httpx.create_ssl_context())
    # trust_env=False: proxy variables would send the request somewhere other than the pinned address.
    with httpx.Client(transport=transport, trust_env=False, follow_redirects=False, timeout=timeout,
                      headers=HEADERS) as client:
        target = policy.vet_url(url)
        try:
            for _hop in range(policy.max_redirects + 1):
                pin_host(target, policy, backend, resolver, deadline)
                with client.stream("GET", target) as response:
                    if response.status_code in REDIRECTS:
                        target = _next_hop(response, policy)
                        continue
                    if response.status_code != 200:
                        raise URLRejected(f"HTTP {response.status_code} from {target.host}")
                    return _read_body(response, policy)
        except httpx.TimeoutException as exc:
            # The last wait was clamped to the deadline, so the socket's own "timed out" hides which
            # limit it was; say so when it was the per-image one.
            if deadline.remaining() <= 0.05:
                raise httpx.TimeoutException(deadline.exceeded()) from exc
            raise
    raise URLRejected(f"more than {policy.max_redirects} redirects")


def pin_host(url: httpx.URL, policy: FetchPolicy, backend: PinnedBackend, resolver: Resolver,
         deadline: Deadline) -> None:
    """Resolves the host once per image and vets every address it has; one bad address refuses all,
    since a name that also points inward is not one to trust with the rest."""
    host = url.raw_host.decode("ascii").lower()
    if host in backend.pins:
        return
    try:
        literal = literal_address(host)
    except ValueError as exc:
        raise URLRejected(str(exc)) from None
    if literal is not None:
        addresses = [literal]
    else:
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            found = resolve_within(resolver, host, port, min(policy.connect_timeout_s, deadline.remaining()))
        except TimeoutError as exc:
            raise URLRejected(str(exc)) from None
        except (OSError, UnicodeError) as exc:
            raise URLRejected(f"{host} could not be resolved ({exc})") from None
        try:
            addresses = [ip_address(a) for a in found]
        except ValueError as exc:
            raise URLRejected(f"{host} resolved to something that is not an address ({exc})") from None
        if not addresses:
            raise URLRejected(f"{host} has no addresses")
    for address in addresses:
        why = policy.address_refusal(address)
        if why is not None:
            if literal is None:
                shown = f"{host} resolves to {address}, which"
            else:
                shown = host if host == str(address) else f"{host} ({address})"
            raise URLRejected(f"{shown} is {why}; fetching from it is not allowed{allow_hint(address, why)}")
    backend.pins[host] = [dial_form(a) for a in addresses]


def allow_hint(address: IPAddress, why: str) -> str:
    """What the operator can do about a refusal that configuration can lift (metadata addresses stay
    refused whatever is allowed)."""
    if "metadata" in why:
        return ""
    prefix = 32 if address.version == 4 else 128
    return f" unless the server is started with --allow-fetch-from {address}/{prefix} (or a wider CIDR)"


def _next_hop(response: httpx.Response, policy: FetchPolicy) -> httpx.URL:
    location = response.headers.get("location")
    if not location:
        raise URLRejected(f"HTTP {response.status_code} redirect without a Location")
    try:
        joined = response.url.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise URLRejected(f"redirect to an invalid URL ({exc})") from None
    try:
        return policy.vet_url(joined)
    except URLRejected as exc:
        raise URLRejected(f"redirect refused: {exc}") from None


def _read_body(response: httpx.Response, policy: FetchPolicy) -> bytes:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # Decompressing is where a small response turns into gigabytes; images gain nothing from it.
        raise URLRejected(f"compressed responses ({encoding}) are not accepted")
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise URLRejected(f"larger than the {policy.max_bytes} byte limit (Content-Length {declared})")
    # The declared length is only a hint: the count below is what holds, chunked or not.
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk
        if len(body) > policy.max_bytes:
            raise URLRejected(f"larger than the {policy.max_bytes} byte limit")
    return bytes(body)
