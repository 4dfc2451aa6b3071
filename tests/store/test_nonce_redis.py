"""The Redis nonce store of the scaled-out configuration, against the Redis at 127.0.0.1:6379."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from imprint.store.nonces import open_nonce_store
from imprint.store.nonces.redis import RedisNonceStore

pytestmark = pytest.mark.scale

URL = "redis://127.0.0.1:6379/0"
NOW = datetime.now(UTC)


@pytest.fixture
def prefix() -> str:
    # Each test its own key space, so runs never see each other's nonces.
    return f"imprint-test:{uuid.uuid4().hex}:"


@pytest.fixture
def store(prefix: str) -> Iterator[RedisNonceStore]:
    import redis

    client = redis.Redis.from_url(URL)
    s = RedisNonceStore(client, prefix=prefix)
    yield s
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    s.close()


def test_first_claim_wins_and_replay_loses(store: RedisNonceStore) -> None:
    assert store.claim("ak", "n1", NOW) is True
    assert store.claim("ak", "n1", NOW) is False
    assert store.claim("ak", "n2", NOW) is True


def test_nonces_are_per_access_key_without_ambiguity(store: RedisNonceStore) -> None:
    assert store.claim("ak-1", "n", NOW) is True
    assert store.claim("ak-2", "n", NOW) is True
    # Without the length in the key, ("a:b", "c") and ("a", "b:c") would be the same entry.
    assert store.claim("a:b", "c", NOW) is True
    assert store.claim("a", "b:c", NOW) is True


def test_the_nonce_is_kept_for_the_retention_then_forgotten(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(URL)
    store = RedisNonceStore(client, retention=timedelta(milliseconds=300), prefix=prefix)
    try:
        assert store.claim("ak", "n", NOW) is True
        ttl = client.pttl(f"{prefix}2:ak:n")
        assert 0 < ttl <= 300
        assert store.claim("ak", "n", NOW) is False
        time.sleep(0.4)
        assert store.claim("ak", "n", NOW) is True
    finally:
        store.close()


def test_default_retention_is_the_nonce_retention(store: RedisNonceStore, prefix: str) -> None:
    from imprint.auth import NONCE_RETENTION

    store.claim("ak", "n", NOW)
    ttl_ms = store._client.pttl(f"{prefix}2:ak:n")
    assert NONCE_RETENTION.total_seconds() * 1000 - 5000 < ttl_ms <= NONCE_RETENTION.total_seconds() * 1000


def test_a_replay_is_refused_by_another_process_or_after_a_restart(prefix: str) -> None:
    import redis

    first = RedisNonceStore(redis.Redis.from_url(URL), prefix=prefix)
    assert first.claim("ak", "captured", NOW) is True
    first.close()
    second = RedisNonceStore(redis.Redis.from_url(URL), prefix=prefix)
    try:
        assert second.claim("ak", "captured", NOW) is False
    finally:
        second._client.delete(f"{prefix}2:ak:captured")
        second.close()


def test_claim_many_in_one_round_trip(store: RedisNonceStore) -> None:
    store.claim("ak", "old", NOW)
    claims = [("ak", "a", NOW), ("ak", "old", NOW), ("ak", "a", NOW), ("ak2", "a", NOW)]
    assert store.claim_many(claims) == [True, False, False, True]


def test_redis_urls_open_the_redis_store() -> None:
    store = open_nonce_store(URL)
    try:
        assert isinstance(store, RedisNonceStore)
        nonce = uuid.uuid4().hex
        assert store.claim("ak-url-test", nonce, NOW) is True
        assert store.claim("ak-url-test", nonce, NOW) is False
        store._client.delete(store._key("ak-url-test", nonce))
    finally:
        store.close()
