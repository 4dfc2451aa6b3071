"""Use cases of image fetching. Assets are immutable, so a bounded in-memory cache is always correct."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from imprint.service import views
from imprint.service.domain import ImageContent
from imprint.service.errors import DataNotFound
from imprint.store.blobs.base import BlobStore
from imprint.store.rows import ImageAssetRow


class AssetCache:
    """LRU of image contents bounded by total bytes; one lock, held only for dict operations.

    An image never changes, but it can be deleted, possibly by another API process: a hit older than
    ``recheck_s`` is confirmed by one indexed read before it is served again (``get`` says when).
    """

    def __init__(self, max_bytes: int, *, recheck_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_bytes
        self._items: OrderedDict[Hashable, ImageContent] = OrderedDict()
        self._checked: dict[Hashable, float] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self._recheck_s, self._clock = recheck_s, clock

    def get(self, key: Hashable) -> tuple[ImageContent | None, bool]:
        """The cached item and whether it must be confirmed to still exist before it is served."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None, False
            self._items.move_to_end(key)
            return item, self._clock() - self._checked.get(key, 0.0) > self._recheck_s

    def confirmed(self, key: Hashable) -> None:
        with self._lock:
            if key in self._items:
                self._checked[key] = self._clock()

    def discard(self, keys: Iterable[Hashable]) -> None:
        with self._lock:
            for key in keys:
                old = self._items.pop(key, None)
                self._checked.pop(key, None)
                if old is not None:
                    self._bytes -= len(old.data)

    def put(self, key: Hashable, item: ImageContent) -> None:
        if len(item.data) > self._max:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = item
            self._checked[key] = self._clock()
            self._bytes += len(item.data)
            while self._bytes > self._max:
                gone, old = self._items.popitem(last=False)
                self._checked.pop(gone, None)
                self._bytes -= len(old.data)


# A callable is only called on a cache miss: an image the cache holds needs no database session, and
# opening and closing one was a sizeable share of an image fetch.
SessionSource = Session | Callable[[], Session]


def _session(source: SessionSource) -> Session:
    return source if isinstance(source, Session) else source()


def _load(row: ImageAssetRow | None, *, blobs: BlobStore, what: str) -> ImageContent:
    if row is None:
        raise DataNotFound(f"Image not found: {what}")
    asset = views.image_asset(row)
    return ImageContent(asset, blobs.read_bytes(asset.blob_key))


def find_image(session: SessionSource, *, account_id: str, model_id: str, prompt_id: str, image_id: str,
               blobs: BlobStore, cache: AssetCache) -> ImageContent:
    key = ("v1", account_id, model_id, prompt_id, image_id)
    query = select(ImageAssetRow).where(
        ImageAssetRow.prompt_id == prompt_id, ImageAssetRow.image_id == image_id,
        ImageAssetRow.model_id == model_id, ImageAssetRow.account_id == account_id)
    what = f"modelId={model_id} promptId={prompt_id} imageId={image_id}"
    hit, check = cache.get(key)
    if hit is not None and not check:
        return hit
    row = _session(session).scalars(query).first()
    if hit is not None and row is not None:
        cache.confirmed(key)
        return hit
    cache.discard([key])
    item = _load(row, blobs=blobs, what=what)
    cache.put(key, item)
    return item


def find_image_by_id(session: SessionSource, *, account_id: str, image_id: str, blobs: BlobStore,
                     cache: AssetCache) -> ImageContent:
    key = ("v2", account_id, image_id)
    hit, check = cache.get(key)
    if hit is not None and not check:
        return hit
    # v1 ids ("0000.png") repeat across prompts, so only a unique match answers a lookup by id alone.
    rows = _session(session).scalars(select(ImageAssetRow).where(
        ImageAssetRow.account_id == account_id, ImageAssetRow.image_id == image_id).limit(2)).all()
    if hit is not None and len(rows) == 1:
        cache.confirmed(key)
        return hit
    cache.discard([key])
    item = _load(rows[0] if len(rows) == 1 else None, blobs=blobs, what=f"imageId={image_id}")
    cache.put(key, item)
    return item
