"""Rate limits shared by processes through the database (two limiters on one store stand for two workers), on
memory, SQLite and PostgreSQL; the window's counters expire. A key a worker has counted once and never learnt is
held back (not written); each worker hides at most one request per key, so with P workers a key passes its limit
by at most P - 1 requests per window (flush_interval=0 here: no flush-interval slack on top)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from oi_testing import FakeClock
from openissuer.errors import TooManyRequestsError
from openissuer.services import rate_limits
from openissuer.services.rate_limits import ADDRESS, CLIENT, OFFER, RateLimiter, RateLimits
from openissuer.services.wallet_secrets import digest_secret


@pytest.fixture
def tenant() -> str:
    """A tenant of its own per test: the SQLite and PostgreSQL databases are shared by the session."""
    return f"t-{uuid4().hex}"


async def stored_total(
    wallet_store: Any, clock: FakeClock, tenant: str, value: str, *, kind: str = OFFER, window: int = 60
) -> int:
    """The shared counter of a key in the current window, read from the store (an increment of 0)."""
    key, current = digest_secret(f"{kind}\x00{tenant}\x00{value}"), int(clock.now().timestamp() // window)
    totals = await wallet_store.count_requests([(key, current, 0)], clock.now() + timedelta(minutes=2), clock.now())
    return int(totals[(key, current)])


async def admitted(limiter: RateLimiter, tenant: str, value: str) -> bool:
    try:
        await limiter.check(tenant, [(OFFER, value)])
    except TooManyRequestsError:
        return False
    return True


async def test_two_workers_share_one_limit(wallet_store: Any, clock: FakeClock, tenant: str) -> None:
    limits = RateLimits(window=60, per_address=5, per_client=0, per_offer=2)
    first, second = (RateLimiter(wallet_store, clock, limits, flush_interval=0) for _ in range(2))
    for limiter in (first, first, second, second, first):
        await limiter.check(tenant, [(ADDRESS, "198.51.100.7"), (CLIENT, "wallet")])
    with pytest.raises(TooManyRequestsError) as refused:
        await second.check(tenant, [(ADDRESS, "198.51.100.7")])
    assert refused.value.status == 429 and 1 <= int(refused.value.headers["Retry-After"]) <= 60
    await first.check(tenant, [(ADDRESS, "198.51.100.8")])  # another address
    await first.check(f"{tenant}-other", [(ADDRESS, "198.51.100.7")])  # another tenant
    await first.check(tenant, [(OFFER, "code")])  # held back by the first worker
    await second.check(tenant, [(OFFER, "code")])  # held back by the second worker: the first does not see it
    await first.check(tenant, [(OFFER, "code")])  # the third, over the limit of 2: the bound, P - 1 = 1 request
    with pytest.raises(TooManyRequestsError):  # the second flushes its held one with this one: 4 > 2
        await second.check(tenant, [(OFFER, "code")])
    with pytest.raises(TooManyRequestsError):
        await first.check(tenant, [(OFFER, "code")])
    clock.advance(seconds=61)  # the next window
    await second.check(tenant, [(ADDRESS, "198.51.100.7"), (OFFER, "code")])


async def test_a_key_counted_once_is_held_back_and_written_from_its_second_count(
    wallet_store: Any, clock: FakeClock, tenant: str
) -> None:
    limiter = RateLimiter(wallet_store, clock, RateLimits(per_offer=5), flush_interval=0)
    await limiter.check(tenant, [(OFFER, "token")])
    await limiter.flush()
    assert await stored_total(wallet_store, clock, tenant, "token") == 0  # not written
    other = RateLimiter(wallet_store, clock, RateLimits(per_offer=5), flush_interval=0)
    for _ in range(2):
        await other.check(tenant, [(OFFER, "token")])
    assert list(other._totals.values()) == [2]  # the other worker learns only its own two
    await limiter.check(tenant, [(OFFER, "token")])  # its second: flushed with the held one
    assert await stored_total(wallet_store, clock, tenant, "token") == 4
    await limiter.check(tenant, [(OFFER, "token")])  # a known key is never held back, even counted once
    assert await stored_total(wallet_store, clock, tenant, "token") == 5 and not limiter._held


@pytest.mark.parametrize("workers", [2, 3])
async def test_workers_hiding_one_request_each_admit_at_most_workers_minus_one_over_the_limit(
    wallet_store: Any, clock: FakeClock, tenant: str, workers: int
) -> None:
    limit = 2
    limiters = [RateLimiter(wallet_store, clock, RateLimits(per_offer=limit), flush_interval=0) for _ in range(workers)]
    outcomes = [await admitted(limiters[i % workers], tenant, "code") for i in range(3 * workers)]
    passed = outcomes.index(False)
    assert not any(outcomes[passed:])  # once refused, every later request on any worker is refused
    assert limit < passed <= limit + workers - 1  # each worker held one back: at most P - 1 over the limit
    assert await stored_total(wallet_store, clock, tenant, "code") == 3 * workers  # nothing lost once shared


async def test_a_held_key_still_counts_locally(wallet_store: Any, clock: FakeClock, tenant: str) -> None:
    limiter = RateLimiter(wallet_store, clock, RateLimits(per_offer=1), flush_interval=0)
    assert await admitted(limiter, tenant, "code")
    assert len(limiter._held) == 1
    assert not await admitted(limiter, tenant, "code")
    assert not await admitted(limiter, tenant, "code")
    assert await stored_total(wallet_store, clock, tenant, "code") == 3 and not limiter._held


async def test_without_flushing_a_worker_still_holds_its_own_traffic_to_the_limit(
    wallet_store: Any, clock: FakeClock, tenant: str
) -> None:
    limiter = RateLimiter(wallet_store, clock, RateLimits(per_offer=3), flush_interval=3600)
    for _ in range(3):
        await limiter.check(tenant, [(OFFER, "token")])
    with pytest.raises(TooManyRequestsError):
        await limiter.check(tenant, [(OFFER, "token")])
    assert await stored_total(wallet_store, clock, tenant, "token") == 0
    await limiter.flush()
    assert await stored_total(wallet_store, clock, tenant, "token") == 4


async def test_a_worker_forgets_the_totals_of_past_windows(wallet_store: Any, clock: FakeClock, tenant: str) -> None:
    """The totals learnt from flushes are kept for the current and the previous window only."""
    limiter = RateLimiter(wallet_store, clock, RateLimits(window=60, per_offer=5), flush_interval=0)
    for value in ("first", "first"):  # counted twice: flushed and learnt (once would be held back)
        await limiter.check(tenant, [(OFFER, value)])
    clock.advance(seconds=60)
    for value in ("second", "second"):
        await limiter.check(tenant, [(OFFER, value)])
    assert len(limiter._totals) == 2  # the previous window's key is still known
    clock.advance(seconds=60)
    for value in ("third", "third"):
        await limiter.check(tenant, [(OFFER, value)])
    assert sorted(window for _, window in limiter._totals) == [
        int(clock.now().timestamp() // 60) - 1,
        int(clock.now().timestamp() // 60),
    ]


async def test_a_worker_drops_the_held_keys_of_past_windows(wallet_store: Any, clock: FakeClock, tenant: str) -> None:
    limiter = RateLimiter(wallet_store, clock, RateLimits(window=60, per_offer=5), flush_interval=0)
    await limiter.check(tenant, [(OFFER, "first")])
    clock.advance(seconds=60)
    await limiter.check(tenant, [(OFFER, "second")])
    current = int(clock.now().timestamp() // 60)
    assert [window for _, window in limiter._held] == [current]  # the past window's key can count no more
    clock.advance(seconds=60)
    await limiter.check(tenant, [(OFFER, "third")])
    assert [window for _, window in limiter._held] == [current + 1]
    assert not limiter._totals and await stored_total(wallet_store, clock, tenant, "third") == 0


async def test_past_max_keys_the_held_keys_are_flushed(
    wallet_store: Any, clock: FakeClock, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rate_limits, "MAX_KEYS", 3)
    limiter = RateLimiter(wallet_store, clock, RateLimits(per_offer=5), flush_interval=0)
    for value in ("a", "b", "c"):
        await limiter.check(tenant, [(OFFER, value)])
    assert len(limiter._held) == 3
    assert [await stored_total(wallet_store, clock, tenant, value) for value in ("a", "b", "c")] == [0, 0, 0]
    await limiter.check(tenant, [(OFFER, "d")])  # the fourth held key: all are flushed (less than a batch)
    assert not limiter._held
    assert [await stored_total(wallet_store, clock, tenant, value) for value in ("a", "b", "c", "d")] == [1, 1, 1, 1]


async def test_past_max_keys_only_the_oldest_held_keys_are_flushed_a_batch_at_a_time(
    wallet_store: Any, clock: FakeClock, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rate_limits, "MAX_KEYS", 4)
    monkeypatch.setattr(rate_limits, "HELD_FLUSH_BATCH", 2)
    limiter = RateLimiter(wallet_store, clock, RateLimits(per_offer=5), flush_interval=0)
    for value in ("a", "b", "c", "d", "e"):  # the fifth held key passes MAX_KEYS: the 1 over it + a batch of 2 go
        await limiter.check(tenant, [(OFFER, value)])
    assert len(limiter._held) == 2
    stored = [await stored_total(wallet_store, clock, tenant, value) for value in ("a", "b", "c", "d", "e")]
    assert stored == [1, 1, 1, 0, 0]
