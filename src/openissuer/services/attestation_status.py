"""The revocation status of wallet attestations and key attestations (their ``status`` claim, an IETF Token Status
List reference): fetched from the wallet provider, verified under the same trust anchors as the attestation, kept
per process for the token's ``ttl``.

An attestation whose entry is not VALID (revoked, suspended, anything else) is refused, and so is one whose status
cannot be read (the list cannot be fetched, is not signed under the anchors, is not the list at its URI, or has no
such entry): a wallet provider that revokes an instance must be able to rely on issuers refusing it. A list is
fetched once per process for every request that waits on it, and kept for its ``ttl`` (5 minutes without one, at
most 1 hour, never past its ``exp``), so a busy issuer fetches each provider's list a few times an hour. A failure is
kept for 5 seconds, so a provider's outage is not asked again by every request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from openissuer.domain.urls import redact_url
from openissuer.errors import OAuthError
from openissuer.ports.clock import Clock
from openissuer.ports.http import HttpFetcher, OutboundRequestError
from openissuer.protocol.status_list_reading import (
    STATUS_NAMES,
    VALID,
    StatusListReadError,
    StatusListSnapshot,
    StatusReference,
    verify_status_list_jwt,
)

log = logging.getLogger("openissuer.attestation_status")

DEFAULT_TTL = timedelta(minutes=5)
MAX_TTL = timedelta(hours=1)
FAILURE_KEPT = timedelta(seconds=5)
"""A list that could not be read is not asked for again for this long: a provider's outage costs each worker one
fetch per 5 seconds, not one per request (the requests are refused meanwhile, as they would be anyway)."""
_CACHED_LISTS = 256
_ACCEPT = "application/statuslist+jwt"


@dataclass(frozen=True)
class _Kept:
    snapshot: StatusListSnapshot
    until: datetime


class AttestationStatusService:
    """Check the status list entry an attestation references."""

    def __init__(self, fetcher: HttpFetcher, clock: Clock) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._lists: OrderedDict[tuple[str, bytes], _Kept] = OrderedDict()
        self._fetching: dict[tuple[str, bytes], asyncio.Future[StatusListSnapshot]] = {}
        self._failed: dict[tuple[str, bytes], datetime] = {}

    async def check(
        self, reference: StatusReference, anchors: Sequence[bytes], what: str, error: type[OAuthError]
    ) -> None:
        """Raise ``error`` unless entry ``reference.index`` of the list at ``reference.uri`` (signed under
        ``anchors``) is VALID; ``what`` names the attestation in the message."""
        try:
            snapshot = await self._list(reference.uri, anchors)
            status = snapshot.status_at(reference.index)
        except StatusListReadError as exc:
            log.warning("attestation status not read", extra={"target": redact_url(reference.uri), "reason": str(exc)})
            raise error(f"The {what}'s status could not be checked: {exc}") from None
        if status != VALID:
            raise error(f"The {what} is {STATUS_NAMES.get(status, f'not valid (status {status})')}")

    async def _list(self, uri: str, anchors: Sequence[bytes]) -> StatusListSnapshot:
        key = (uri, hashlib.sha256(b"".join(sorted(hashlib.sha256(a).digest() for a in anchors))).digest())
        now = self._clock.now()
        kept = self._lists.get(key)
        if kept is not None and now < kept.until:
            return kept.snapshot
        failed_until = self._failed.get(key)
        if failed_until is not None:
            if now < failed_until:
                raise StatusListReadError("its status list could not be read a moment ago")
            del self._failed[key]
        pending = self._fetching.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(key, uri, anchors))
            self._fetching[key] = pending
            pending.add_done_callback(partial(self._fetched, key))
        return await asyncio.shield(pending)

    def _fetched(self, key: tuple[str, bytes], done: asyncio.Future[StatusListSnapshot]) -> None:
        self._fetching.pop(key, None)
        if not done.cancelled() and done.exception() is not None:  # retrieved: every waiter may have gone
            if len(self._failed) >= _CACHED_LISTS:
                self._failed.clear()
            self._failed[key] = self._clock.now() + FAILURE_KEPT

    async def _fetch(self, key: tuple[str, bytes], uri: str, anchors: Sequence[bytes]) -> StatusListSnapshot:
        try:
            response = await self._fetcher.request("GET", uri, headers={"accept": _ACCEPT})
        except OutboundRequestError as exc:
            raise StatusListReadError(f"its status list could not be fetched ({exc.description})") from None
        if response.status != 200:
            raise StatusListReadError(f"its status list answered HTTP {response.status}")
        try:
            token = response.body.decode("ascii").strip()
        except UnicodeDecodeError:
            raise StatusListReadError("its status list is not a JWT") from None
        now = self._clock.now()
        snapshot = verify_status_list_jwt(token, uri=uri, anchors=anchors, now=now)
        self._lists[key] = _Kept(snapshot, snapshot.usable_until(now, DEFAULT_TTL, MAX_TTL))
        self._lists.move_to_end(key)
        while len(self._lists) > _CACHED_LISTS:
            self._lists.popitem(last=False)
        return snapshot
