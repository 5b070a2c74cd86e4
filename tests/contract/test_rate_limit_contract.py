"""Rate limits shared by processes through the database (two limiters on one store stand for two workers), on
memory, SQLite and PostgreSQL; the window's counters expire."""

from __future__ import annotations

from typing import Any

import pytest

from oi_testing import FakeClock
from openissuer.errors import TooManyRequestsError
from openissuer.services.rate_limits import ADDRESS, CLIENT, OFFER, RateLimiter, RateLimits


async def test_two_workers_share_one_limit(wallet_store: Any, clock: FakeClock) -> None:
    limits = RateLimits(window=60, per_address=5, per_client=0, per_offer=2)
    first, second = (RateLimiter(wallet_store, clock, limits, flush_interval=0) for _ in range(2))
    for limiter in (first, first, second, second, first):
        await limiter.check("t", [(ADDRESS, "198.51.100.7"), (CLIENT, "wallet")])
    with pytest.raises(TooManyRequestsError) as refused:
        await second.check("t", [(ADDRESS, "198.51.100.7")])
    assert refused.value.status == 429 and 1 <= int(refused.value.headers["Retry-After"]) <= 60
    await first.check("t", [(ADDRESS, "198.51.100.8")])  # another address
    await first.check("other-tenant", [(ADDRESS, "198.51.100.7")])  # another tenant
    await first.check("t", [(OFFER, "code")])
    await second.check("t", [(OFFER, "code")])
    with pytest.raises(TooManyRequestsError):
        await first.check("t", [(OFFER, "code")])
    clock.advance(seconds=61)  # the next window
    await second.check("t", [(ADDRESS, "198.51.100.7"), (OFFER, "code")])


async def test_without_flushing_a_worker_still_holds_its_own_traffic_to_the_limit(
    wallet_store: Any, clock: FakeClock
) -> None:
    limiter = RateLimiter(wallet_store, clock, RateLimits(per_offer=3), flush_interval=3600)
    for _ in range(3):
        await limiter.check("t", [(OFFER, "token")])
    with pytest.raises(TooManyRequestsError):
        await limiter.check("t", [(OFFER, "token")])
    await limiter.flush()
    assert await wallet_store.count_requests([], clock.now(), clock.now()) == {}


async def test_a_worker_forgets_the_totals_of_past_windows(wallet_store: Any, clock: FakeClock) -> None:
    """The totals learnt from flushes are kept for the current and the previous window only."""
    limiter = RateLimiter(wallet_store, clock, RateLimits(window=60, per_offer=5), flush_interval=0)
    await limiter.check("t", [(OFFER, "first")])
    clock.advance(seconds=60)
    await limiter.check("t", [(OFFER, "second")])
    assert len(limiter._totals) == 2  # the previous window's key is still known
    clock.advance(seconds=60)
    await limiter.check("t", [(OFFER, "third")])
    assert sorted(window for _, window in limiter._totals) == [
        int(clock.now().timestamp() // 60) - 1,
        int(clock.now().timestamp() // 60),
    ]
