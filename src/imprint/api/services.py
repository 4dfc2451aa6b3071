"""Everything a request may use, built once per process and handed to the app explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from imprint.api.admin.token import AdminToken
from imprint.api.ratelimit import RateLimiter
from imprint.auth.authorize import PolicySource
from imprint.auth.connection import TrustedProxies
from imprint.auth.credentials import KeyLookup, NonceStore
from imprint.config import Settings
from imprint.queue.base import JobQueue
from imprint.service.assets import AssetCache
from imprint.store.blobs.base import BlobStore
from imprint.store.secret_box import SecretBox
from imprint.tokens import Vocabulary


@dataclass
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    blobs: BlobStore
    queue: JobQueue
    keys: KeyLookup
    nonces: NonceStore
    assets: AssetCache
    known_object_types: tuple[str, ...]
    clock: Callable[[], datetime]
    policies: PolicySource
    limiter: RateLimiter
    trusted_proxies: TrustedProxies
    box: SecretBox
    admin_token: AdminToken
    # The base model's tokenizer, for checks at submission; returns None where it cannot be read.
    vocabulary: Callable[[], Vocabulary | None] = lambda: None
