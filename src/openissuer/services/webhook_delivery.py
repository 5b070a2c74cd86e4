"""The webhook delivery worker: claims due deliveries from the outbox, signs and sends them, records the outcome.

Reference §11.2: "receiver must answer 2xx within 3 s; otherwise … retries with exponential backoff, then marked
failed". Each attempt is claimed first (``OutboxRepository.claim``: counted, and leased so no other worker sends
it meanwhile), then sent, then recorded; a worker that dies between claim and record leaves the delivery to be
sent again when its lease runs out. So delivery is at least once, and duplicates are only ever of deliveries
that were in flight; receivers deduplicate on ``event.id``.

Several workers (processes, machines) share the outbox: on PostgreSQL they claim disjoint rows (``FOR UPDATE SKIP
LOCKED``); on SQLite only the holder of a lease row claims (``single_leader``), the others stand by.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from openissuer.crypto.http_signatures import sign_http_request
from openissuer.domain.events import WEBHOOK_DELIVERY_FAILED
from openissuer.domain.urls import request_target_url
from openissuer.domain.webhooks import ClaimedDelivery, DeliveryOutcome
from openissuer.ports.clock import Clock
from openissuer.ports.http import HttpFetcher, OutboundRequestError
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.protocol.webhooks import create_delivery_headers, create_envelope, encode_envelope
from openissuer.services.audit import audit_event
from openissuer.services.housekeeping import Housekeeping
from openissuer.services.webhook_keys import WebhookKeyService

log = logging.getLogger("openissuer.webhooks")

LEADER_LEASE = "webhook-delivery"
DELIVERY_TIMEOUT = 3.0


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries are attempted: ``max_attempts`` in all (the first and its retries), retries after
    ``retry_base`` doubling per retry up to ``retry_max``, with jitter; ``lease`` bounds how long a claimed attempt
    is reserved for its worker (more than the 3 s ``timeout``). A batch is sent at once, so a round lasts one
    timeout at most, well within the lease; it is small so that each delivery, recording its outcome in its own
    transaction, finds a database connection free."""

    max_attempts: int
    retry_base: timedelta
    retry_max: timedelta
    lease: timedelta
    timeout: float = DELIVERY_TIMEOUT
    batch_size: int = 8


def compute_retry_delay(attempt: int, policy: DeliveryPolicy, draw: Callable[[], float]) -> timedelta:
    """Return the wait after failed attempt ``attempt`` (1-based): ``retry_base * 2**(attempt-1)``, at most
    ``retry_max``, times a jitter factor in [0.5, 1) so that receivers coming back are not hit all at once."""
    base: timedelta = min(policy.retry_base * 2 ** (attempt - 1), policy.retry_max)
    return base * (0.5 + draw() / 2)


class DeliveryWorker:
    """Deliver what the outbox holds, one batch per ``run_once``."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        fetcher: HttpFetcher,
        keys: WebhookKeyService,
        policy: DeliveryPolicy,
        *,
        single_leader: bool,
        holder: str,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._fetcher = fetcher
        self._keys = keys
        self._policy = policy
        self._single_leader = single_leader
        self._holder = holder
        self._draw = draw

    @property
    def batch_size(self) -> int:
        """Most deliveries one ``run_once`` claims."""
        return self._policy.batch_size

    async def run_once(self) -> int:
        """Claim a batch of due deliveries, send them concurrently, record each outcome; return how many."""
        now = self._clock.now()
        lease_until = now + self._policy.lease
        # An idle poll is one read: no lease renewed, no write lock taken. On SQLite a write unit held over the
        # driver's thread hops would keep the hot path's writers waiting (busy, backing off) for tens of ms.
        async with self._uow(read_only=True) as uow:
            if not await uow.outbox.has_due(now):
                return 0
        async with self._uow() as uow:
            if self._single_leader and not await uow.outbox.acquire_lease(LEADER_LEASE, self._holder, now, lease_until):
                return 0
            claimed = await uow.outbox.claim(now, limit=self._policy.batch_size, lease_until=lease_until)
            await uow.commit()
        if claimed:
            await asyncio.gather(*(self._deliver(item) for item in claimed))
        return len(claimed)

    async def _deliver(self, claimed: ClaimedDelivery) -> None:
        outcome = await self._attempt(claimed)
        delivery = claimed.delivery
        now = self._clock.now()
        async with self._uow() as uow:
            recorded = await uow.outbox.record(delivery, outcome, now)
            if recorded and not outcome.delivered and outcome.retry_at is None:
                data = {
                    "webhookId": delivery.webhook_id,
                    "deliveryId": delivery.id,
                    "eventId": delivery.event_id,
                    "eventType": delivery.event_type,
                    "attempts": delivery.attempts,
                    "error": outcome.error,
                }
                await uow.events.add(audit_event(WEBHOOK_DELIVERY_FAILED, delivery.tenant_id, now, data))
            await uow.commit()
        details = {"delivery_id": delivery.id, "webhook_id": delivery.webhook_id, "attempt": delivery.attempts}
        if outcome.delivered:
            log.info("webhook delivered", extra={**details, "status": outcome.status_code})
        elif recorded:
            log.warning(
                "webhook delivery failed",
                extra={**details, "error": outcome.error, "retry": outcome.retry_at is not None},
            )

    async def _attempt(self, claimed: ClaimedDelivery) -> DeliveryOutcome:
        """Sign and send one delivery; 2xx within the timeout is success, anything else a failed attempt."""
        delivery = claimed.delivery
        now = self._clock.now()
        envelope = create_envelope(
            delivery_id=delivery.id,
            delivered_at=now,
            webhook_id=delivery.webhook_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            payload=delivery.payload or {},
            event_timestamp=delivery.event_timestamp,
        )
        body = encode_envelope(envelope)
        signer = await self._keys.signer_for(delivery.tenant_id)
        target = request_target_url(claimed.url)  # what the receiver sees: the signed @target-uri is sent as is
        headers = sign_http_request(
            "POST",
            target,
            create_delivery_headers(delivery.webhook_id, delivery.event_type),
            body,
            signer,
            created=int(now.timestamp()),
        )
        try:
            response = await self._fetcher.request(
                "POST", target, headers=headers, data=body, timeout=self._policy.timeout
            )
        except OutboundRequestError as exc:  # its description is public and never holds the URL
            return self._failed(claimed, None, exc.description)
        if 200 <= response.status < 300:
            return DeliveryOutcome(delivered=True, status_code=response.status)
        return self._failed(claimed, response.status, f"HTTP {response.status}")

    def _failed(self, claimed: ClaimedDelivery, status: int | None, error: str) -> DeliveryOutcome:
        attempt = claimed.delivery.attempts
        if attempt >= self._policy.max_attempts:
            return DeliveryOutcome(delivered=False, status_code=status, error=error, retry_at=None)
        retry_at = self._clock.now() + compute_retry_delay(attempt, self._policy, self._draw)
        return DeliveryOutcome(delivered=False, status_code=status, error=error, retry_at=retry_at)


class BackgroundWorker:
    """Run the delivery worker and the housekeeping until stopped: poll every ``poll_interval`` seconds while
    idle, at once again after a full batch."""

    def __init__(
        self,
        delivery: DeliveryWorker,
        housekeeping: Housekeeping,
        *,
        poll_interval: float,
        housekeeping_interval: float = 300.0,
    ) -> None:
        self._delivery = delivery
        self._housekeeping = housekeeping
        self._poll_interval = poll_interval
        self._housekeeping_interval = housekeeping_interval
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Loop until ``stop``; errors are logged and the loop goes on."""
        last_housekeeping = float("-inf")
        while not self._stop.is_set():
            busy = 0
            try:
                if time.monotonic() - last_housekeeping >= self._housekeeping_interval:
                    last_housekeeping = time.monotonic()
                    await self._housekeeping.run_once()
                busy = await self._delivery.run_once()
            except Exception:
                log.exception("background worker round failed")
            if busy < self._delivery.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._poll_interval)

    def start(self) -> None:
        """Start the loop as a task of the running event loop."""
        self._stop.clear()
        self._task = asyncio.get_running_loop().create_task(self.run(), name="openissuer-background-worker")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop after the current round (in-flight deliveries finish), cancelling it after ``grace`` seconds."""
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(task, grace)
        except TimeoutError:
            log.warning("background worker cancelled after %s s", grace)
