"""The attestation status service's fetching: one fetch for every request that waits on it, a failure kept for a
moment, and no failure left unretrieved when every waiter has gone (a client that disconnected)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from oi_testing import FakeClock
from openissuer.errors import InvalidClientAttestationError
from openissuer.ports.http import HttpResponse, OutboundConnectionError
from openissuer.protocol.status_list_reading import StatusReference
from openissuer.services.attestation_status import AttestationStatusService

REFERENCE = StatusReference("https://provider.example/list", 0)


class SlowFailingFetcher:
    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def request(self, method: str, url: str, **_: Any) -> HttpResponse:
        self.calls += 1
        await self.release.wait()
        raise OutboundConnectionError(url=url, detail="refused")


async def test_waiters_share_one_fetch_and_a_failure_is_kept_for_a_moment() -> None:
    fetcher, clock = SlowFailingFetcher(), FakeClock()
    service = AttestationStatusService(fetcher, clock)  # type: ignore[arg-type]
    waiters = [
        asyncio.ensure_future(
            service.check(REFERENCE, [b"anchor"], "client attestation", InvalidClientAttestationError)
        )
        for _ in range(3)
    ]
    await asyncio.sleep(0)
    fetcher.release.set()
    for waiter in waiters:
        with pytest.raises(InvalidClientAttestationError, match="could not be fetched"):
            await waiter
    assert fetcher.calls == 1
    with pytest.raises(InvalidClientAttestationError, match="a moment ago"):
        await service.check(REFERENCE, [b"anchor"], "client attestation", InvalidClientAttestationError)
    assert fetcher.calls == 1
    clock.advance(seconds=6)
    fetcher.release.set()
    with pytest.raises(InvalidClientAttestationError, match="could not be fetched"):
        await service.check(REFERENCE, [b"anchor"], "client attestation", InvalidClientAttestationError)
    assert fetcher.calls == 2


async def test_a_failure_nobody_waits_for_any_more_is_not_reported_as_unretrieved() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    fetcher = SlowFailingFetcher()
    service = AttestationStatusService(fetcher, FakeClock())  # type: ignore[arg-type]
    waiter = asyncio.ensure_future(
        service.check(REFERENCE, [b"anchor"], "client attestation", InvalidClientAttestationError)
    )
    await asyncio.sleep(0)
    waiter.cancel()  # the client went away
    with pytest.raises(asyncio.CancelledError):
        await waiter
    fetcher.release.set()
    for _ in range(5):
        await asyncio.sleep(0)
    gc.collect()
    await asyncio.sleep(0)
    assert not [c for c in reported if "never retrieved" in str(c.get("message"))]
