import threading
from datetime import UTC, datetime, timedelta

from imprint.auth import NONCE_RETENTION, TIMESTAMP_WINDOW
from imprint.store.nonces import InMemoryNonceStore

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_first_claim_wins_and_replay_loses() -> None:
    store = InMemoryNonceStore()
    assert store.claim("ak", "n1", T0) is True
    assert store.claim("ak", "n1", T0 + timedelta(seconds=1)) is False
    assert store.claim("ak", "n2", T0) is True


def test_nonces_are_per_access_key() -> None:
    store = InMemoryNonceStore()
    assert store.claim("ak-1", "n", T0) is True
    assert store.claim("ak-2", "n", T0) is True


def test_retention_covers_a_request_stamped_a_full_window_ahead() -> None:
    # Such a request is valid until T0 + 2 windows, so the nonce must be remembered that long.
    assert NONCE_RETENTION == 2 * TIMESTAMP_WINDOW
    store = InMemoryNonceStore()
    store.claim("ak", "n", T0)
    assert store.claim("ak", "n", T0 + NONCE_RETENTION) is False


def test_entries_are_dropped_after_the_retention() -> None:
    store = InMemoryNonceStore()
    store.claim("ak", "old", T0)
    store.claim("ak", "other", T0 + NONCE_RETENTION + timedelta(seconds=1))
    assert len(store) == 1
    assert store.claim("ak", "old", T0 + NONCE_RETENTION + timedelta(seconds=2)) is True


def test_custom_retention() -> None:
    store = InMemoryNonceStore(retention=timedelta(minutes=1))
    store.claim("ak", "n", T0)
    assert store.claim("ak", "n", T0 + timedelta(minutes=2)) is True


def test_concurrent_claims_of_one_nonce_have_one_winner() -> None:
    store = InMemoryNonceStore()
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        results.append(store.claim("ak", "same", T0))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
