"""Downloads images with size and time limits and decodes them to RGB; failures are named per image."""

from __future__ import annotations

import io
import warnings

import httpx
from PIL import Image

from imprint.ingest.policy import FetchPolicy, URLRejected


class ImageFetchError(Exception):
    """Some images could not be used; `reasons` maps the input index to why."""

    def __init__(self, reasons: dict[int, str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(f"image {i}: {why}" for i, why in sorted(reasons.items())))


def _download(client: httpx.Client, url: str, policy: FetchPolicy) -> bytes:
    policy.vet_url(url)
    with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise URLRejected(f"HTTP {response.status_code} from {url}")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > policy.max_bytes:
            raise URLRejected(f"larger than the {policy.max_bytes} byte limit")
        chunks, total = [], 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > policy.max_bytes:
                raise URLRejected(f"larger than the {policy.max_bytes} byte limit")
            chunks.append(chunk)
    return b"".join(chunks)


def _decode(data: bytes, policy: FetchPolicy) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > policy.max_pixels:
            raise URLRejected(f"{image.width}x{image.height} exceeds the {policy.max_pixels} pixel limit")
        image.load()
    return image.convert("RGB")


def fetch_images(urls: list[str], policy: FetchPolicy, *,
                 client: httpx.Client | None = None) -> list[Image.Image]:
    if len(urls) > policy.max_images:
        raise ImageFetchError({policy.max_images: f"at most {policy.max_images} images per job"})
    own = client is None
    timeout = httpx.Timeout(policy.read_timeout_s, connect=policy.connect_timeout_s)
    client = client or httpx.Client(
        timeout=timeout, follow_redirects=True, max_redirects=policy.max_redirects,
        event_hooks={"request": [lambda request: policy.vet_url(str(request.url))]})
    images: list[Image.Image] = []
    reasons: dict[int, str] = {}
    try:
        for index, url in enumerate(urls):
            try:
                images.append(_decode(_download(client, url, policy), policy))
            except URLRejected as exc:
                reasons[index] = f"{url}: {exc}"
            except httpx.HTTPError as exc:
                reasons[index] = f"{url}: could not be fetched ({type(exc).__name__}: {exc})"
            except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning, ValueError) as exc:
                reasons[index] = f"{url}: not a decodable image ({exc})"
    finally:
        if own:
            client.close()
    if reasons:
        raise ImageFetchError(reasons)
    return images
