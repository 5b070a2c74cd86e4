"""Events, webhooks and the webhook outbox: one contract on memory, SQLite and PostgreSQL, for the units of work and
for the wallet store's statements (which write events and queue messages inside the change they record)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from openissuer.domain.events import (
    CREDENTIAL_ISSUED,
    CREDENTIAL_REFUSED,
    OFFER_LOCKED,
    OFFER_REDEEMED,
    TOKEN_REFUSED,
    USER_CREATED,
    WEBHOOK_CREATED,
    Event,
    EventKind,
    EventQuery,
    new_event,
)
from openissuer.domain.ids import new_id
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.offers import PreAuthorizedOffer
from openissuer.domain.tenants import Tenant
from openissuer.domain.webhooks import (
    DeliveryOutcome,
    DeliveryStatus,
    Webhook,
    WebhookEventType,
    WebhookMessage,
    WebhookSigningKey,
)
from openissuer.ports.uow import UnitOfWork
from openissuer.ports.wallet_store import IssuanceWrite, IssuanceWriteOutcome, NewGrant, WalletStore

T0 = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)
Factory = Callable[..., UnitOfWork]
ISSUED = WebhookEventType.CREDENTIAL_ISSUED.value
SUMMARY = WebhookEventType.CREDENTIAL_ISSUED_SUMMARY.value
REDEEMED = WebhookEventType.OFFER_REDEEMED.value
CLAIM_TIME_A = T0 - timedelta(days=3000)
CLAIM_TIME_B = T0 - timedelta(days=4000)
CLAIM_TIME_C = T0 - timedelta(days=5000)


async def tenant(uow_factory: Factory) -> str:
    t = Tenant(id=new_id(), name="t", created_at=T0)
    async with uow_factory() as uow:
        await uow.tenants.add(t)
        await uow.commit()
    return t.id


def event(tenant_id: str, kind: EventKind = USER_CREATED, *, at: datetime = T0, client: str | None = None) -> Event:
    return new_event(kind, id=new_id(), tenant_id=tenant_id, now=at, data={"userId": "u1"}, client_id=client)


def webhook(tenant_id: str, *types: str, disabled: bool = False, url: str = "https://hooks.example/a") -> Webhook:
    return Webhook(
        id=new_id(),
        tenant_id=tenant_id,
        url=url,
        events=types,
        disabled=disabled,
        created_at=T0,
        updated_at=T0,
    )


def message(
    tenant_id: str, type: str = ISSUED, *, payload: dict[str, object] | None = None, at: datetime = T0
) -> WebhookMessage:
    return WebhookMessage(id=new_id(), tenant_id=tenant_id, type=type, created_at=at, payload=payload or {"n": 1})


def offer(tenant_id: str, *, tx: bool = False) -> PreAuthorizedOffer:
    return PreAuthorizedOffer(
        id=new_id(),
        tenant_id=tenant_id,
        user_id=new_id(),
        credential_configuration_ids=("c1", "c2"),
        claims={"given_name": "Zebediah"},
        code_hash=new_id().encode()[:32],
        sealed_code=b"sealed",
        by_reference=False,
        expires_at=T0 + timedelta(minutes=5),
        created_at=T0,
        tx_code_hash=b"t" * 32 if tx else None,
    )


def new_grant() -> NewGrant:
    return NewGrant(new_id().encode()[:32], new_id(), {}, None, T0 + timedelta(minutes=5), T0)


def record(tenant_id: str, offer_id: str) -> IssuedCredentialRecord:
    return IssuedCredentialRecord(
        id=new_id(),
        tenant_id=tenant_id,
        configuration_id="c1",
        format="mso_mdoc",
        profile="mobile",
        credential_type="org.example",
        issued_at=T0,
        valid_from=T0,
        valid_until=T0 + timedelta(days=30),
        user_id="u",
        offer_id=offer_id,
    )


async def added(uow_factory: Factory, *offers: PreAuthorizedOffer) -> None:
    async with uow_factory() as uow:
        for item in offers:
            await uow.offers.add(item)
        await uow.commit()


async def webhooks_added(uow_factory: Factory, *hooks: Webhook) -> None:
    async with uow_factory() as uow:
        for hook in hooks:
            await uow.webhooks.add(hook)
        await uow.commit()


async def deliveries_of(uow_factory: Factory, tenant_id: str, webhook_id: str) -> list[object]:
    async with uow_factory(read_only=True) as uow:
        return list((await uow.outbox.list(tenant_id, webhook_id, status=None, limit=1000, after=None)).items)


async def events_of(uow_factory: Factory, tenant_id: str, query: EventQuery | None = None) -> list[Event]:
    async with uow_factory(read_only=True) as uow:
        return (await uow.events.list(tenant_id, query or EventQuery(), limit=1000, after=None)).items


async def test_events_are_listed_with_filters_and_pages(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    written = [
        event(tid, USER_CREATED, at=T0, client="alice"),
        event(tid, CREDENTIAL_ISSUED, at=T0 + timedelta(minutes=1)),
        event(tid, TOKEN_REFUSED, at=T0 + timedelta(minutes=2), client="bob"),
        event(tid, WEBHOOK_CREATED, at=T0 + timedelta(minutes=3), client="alice"),
        event(other, USER_CREATED, at=T0),
    ]
    async with uow_factory() as uow:
        for item in written:
            await uow.events.add(item)
        await uow.commit()
    assert await events_of(uow_factory, tid) == written[:4]
    by_category_or_type = EventQuery(categories=("user",), types=(TOKEN_REFUSED.type,))
    assert [e.id for e in await events_of(uow_factory, tid, by_category_or_type)] == [written[0].id, written[2].id]
    anded = EventQuery(categories=("user", "webhook"), client_ids=("alice",), date_from=T0 + timedelta(seconds=1))
    assert [e.id for e in await events_of(uow_factory, tid, anded)] == [written[3].id]
    window = EventQuery(date_from=T0 + timedelta(minutes=1), date_to=T0 + timedelta(minutes=3))
    assert [e.id for e in await events_of(uow_factory, tid, window)] == [written[1].id, written[2].id]
    async with uow_factory(read_only=True) as uow:
        first = await uow.events.list(tid, EventQuery(), limit=3, after=None)
        assert first.next_key is not None
        second = await uow.events.list(tid, EventQuery(), limit=3, after=first.next_key)
    assert first.items + second.items == written[:4] and second.next_key is None


async def test_old_events_are_pruned_in_bounded_batches(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    old = [event(tid, at=T0 - timedelta(days=100, seconds=i)) for i in range(5)]
    young = event(tid, at=T0)
    async with uow_factory() as uow:
        for item in [*old, young]:
            await uow.events.add(item)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.events.prune(T0 - timedelta(days=90), limit=3) == 3
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.events.prune(T0 - timedelta(days=90), limit=3) >= 2
        await uow.commit()
    assert await events_of(uow_factory, tid) == [young]


async def test_pruning_reaches_every_tenant_and_keeps_young_events(uow_factory: Factory) -> None:
    """Retention prunes per tenant (through the tenant's page index): each tenant's old events go, young ones stay."""
    first, second = await tenant(uow_factory), await tenant(uow_factory)
    old = [event(t, at=T0 - timedelta(days=100, seconds=i)) for t in (first, second) for i in range(3)]
    young = {t: event(t, at=T0 - timedelta(days=1)) for t in (first, second)}
    async with uow_factory() as uow:
        for item in [young[first], *old, young[second]]:
            await uow.events.add(item)
        await uow.commit()
    pruned = 0
    for _ in range(10):
        async with uow_factory() as uow:
            batch = await uow.events.prune(T0 - timedelta(days=90), limit=2)
            await uow.commit()
        assert batch <= 2
        pruned += batch
        if batch == 0:
            break
    assert pruned == 6
    assert await events_of(uow_factory, first) == [young[first]]
    assert await events_of(uow_factory, second) == [young[second]]


async def test_webhook_writes_raise_the_configuration_version(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    hook = webhook(tid, ISSUED)
    await webhooks_added(uow_factory, hook)
    async with uow_factory() as uow:
        assert await uow.tenants.get_config_version(tid) == 1
        assert await uow.webhooks.get(tid, hook.id) == hook
        assert await uow.webhooks.get(other, hook.id) is None
        changed = dataclasses.replace(hook, events=(SUMMARY, REDEEMED), disabled=True, updated_at=T0 + timedelta(1))
        assert await uow.webhooks.update(changed) is True
        assert await uow.webhooks.update(dataclasses.replace(changed, id=new_id())) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tenants.get_config_version(tid) == 2
        assert await uow.webhooks.get(tid, hook.id) == changed
        assert await uow.webhooks.list_active(tid) == []
        assert (await uow.webhooks.list(tid, limit=10, after=None)).items == [changed]
        assert await uow.webhooks.delete(tid, hook.id) is True
        assert await uow.webhooks.delete(tid, hook.id) is False
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.tenants.get_config_version(tid) == 3


async def test_messages_are_queued_for_subscribed_active_webhooks_only(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    full, summary, off = webhook(tid, ISSUED, REDEEMED), webhook(tid, SUMMARY), webhook(tid, ISSUED, disabled=True)
    foreign = webhook(other, ISSUED)
    await webhooks_added(uow_factory, full, summary, off, foreign)
    async with uow_factory() as uow:
        queued = await uow.outbox.enqueue([message(tid, ISSUED), message(tid, SUMMARY), message(tid, "Unknown")])
        await uow.commit()
    assert queued == 2
    assert [d.event_type for d in await deliveries_of(uow_factory, tid, full.id)] == [ISSUED]  # type: ignore[attr-defined]
    assert [d.event_type for d in await deliveries_of(uow_factory, tid, summary.id)] == [SUMMARY]  # type: ignore[attr-defined]
    assert await deliveries_of(uow_factory, tid, off.id) == []
    assert await deliveries_of(uow_factory, other, foreign.id) == []


async def test_a_claim_takes_due_deliveries_once_and_outcomes_are_fenced(uow_factory: Factory) -> None:
    # Claims take due deliveries of every tenant; each claim test works at its own time, before other tests'.
    T0 = CLAIM_TIME_A  # noqa: N806
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    hook = webhook(tid, ISSUED)
    await webhooks_added(uow_factory, hook)
    async with uow_factory() as uow:
        await uow.outbox.enqueue([message(tid, at=T0, payload={"credential": "c1"}), message(tid, at=T0)])
        await uow.commit()
    lease = T0 + timedelta(seconds=30)
    async with uow_factory() as uow:
        claimed = await uow.outbox.claim(T0, limit=1, lease_until=lease)
        await uow.commit()
    assert len(claimed) == 1 and claimed[0].url == hook.url and claimed[0].delivery.attempts == 1
    async with uow_factory() as uow:
        rest = await uow.outbox.claim(T0, limit=10, lease_until=lease + timedelta(minutes=5))
        assert await uow.outbox.claim(T0, limit=10, lease_until=lease) == []  # both are leased now
        await uow.commit()
    assert len(rest) == 1 and rest[0].delivery.id != claimed[0].delivery.id
    first, second = claimed[0].delivery, rest[0].delivery
    async with uow_factory() as uow:  # the lease expired: another worker takes the first over (attempt 2)
        taken_over = await uow.outbox.claim(lease, limit=10, lease_until=lease + timedelta(seconds=30))
        await uow.commit()
    assert [c.delivery.id for c in taken_over] == [first.id] and taken_over[0].delivery.attempts == 2
    retry_at = T0 + timedelta(minutes=1)
    async with uow_factory() as uow:
        assert await uow.outbox.record(first, DeliveryOutcome(delivered=True, status_code=200), T0) is False  # stale
        assert await uow.outbox.record(taken_over[0].delivery, DeliveryOutcome(True, 204), lease) is True
        failure = DeliveryOutcome(delivered=False, status_code=500, error="HTTP 500", retry_at=retry_at)
        assert await uow.outbox.record(second, failure, T0) is True
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        done = await uow.outbox.get(tid, first.id)
        retried = await uow.outbox.get(tid, second.id)
        assert await uow.outbox.get(other, first.id) is None
    assert done is not None and done.status is DeliveryStatus.DELIVERED and done.payload is None
    assert done.delivered_at == lease and done.last_status_code == 204
    assert retried is not None and retried.status is DeliveryStatus.PENDING and retried.next_attempt_at == retry_at
    assert retried.last_error == "HTTP 500" and retried.payload == second.payload is not None
    async with uow_factory() as uow:
        assert await uow.outbox.claim(retry_at - timedelta(seconds=1), limit=10, lease_until=lease) == []
        again = await uow.outbox.claim(retry_at, limit=10, lease_until=retry_at + timedelta(seconds=30))
        assert await uow.outbox.record(again[0].delivery, DeliveryOutcome(False, None, "timeout", None), T0) is True
        await uow.commit()
    failed = await deliveries_of(uow_factory, tid, hook.id)
    assert {d.status for d in failed} == {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}  # type: ignore[attr-defined]


async def test_has_due_tells_whether_a_claim_would_find_a_delivery(uow_factory: Factory) -> None:
    """The idle worker's read: nothing due before a delivery's time, due at it, not due while it is claimed."""
    T0 = CLAIM_TIME_C  # noqa: N806 - its own time, before every other test's deliveries
    tid = await tenant(uow_factory)
    hook = webhook(tid, ISSUED)
    await webhooks_added(uow_factory, hook)
    async with uow_factory(read_only=True) as uow:
        assert await uow.outbox.has_due(T0) is False
    async with uow_factory() as uow:
        await uow.outbox.enqueue([message(tid, at=T0)])
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.outbox.has_due(T0 - timedelta(microseconds=1)) is False
        assert await uow.outbox.has_due(T0) is True
    async with uow_factory() as uow:
        assert len(await uow.outbox.claim(T0, limit=10, lease_until=T0 + timedelta(seconds=30))) == 1
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.outbox.has_due(T0 + timedelta(seconds=29)) is False  # leased
        assert await uow.outbox.has_due(T0 + timedelta(seconds=30)) is True  # the lease ran out: due again
    async with uow_factory() as uow:  # leave nothing due for the other claim tests (the outbox is shared)
        assert await uow.webhooks.delete(tid, hook.id) is True
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.outbox.has_due(T0 + timedelta(seconds=30)) is False


async def test_failed_deliveries_are_redelivered_and_old_ones_pruned(uow_factory: Factory) -> None:
    T0 = CLAIM_TIME_B  # noqa: N806
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    hook = webhook(tid, ISSUED)
    await webhooks_added(uow_factory, hook)
    async with uow_factory() as uow:
        await uow.outbox.enqueue([message(tid, at=T0), message(tid, at=T0)])
        claimed = await uow.outbox.claim(T0, limit=10, lease_until=T0 + timedelta(seconds=30))
        for item in claimed:
            await uow.outbox.record(item.delivery, DeliveryOutcome(False, 503, "HTTP 503", None), T0)
        await uow.commit()
    one = claimed[0].delivery.id
    async with uow_factory() as uow:
        assert await uow.outbox.redeliver(tid, hook.id, [one], T0) == 1
        assert await uow.outbox.redeliver(other, hook.id, None, T0) == 0
        assert await uow.outbox.redeliver(tid, hook.id, None, T0) == 1
        assert await uow.outbox.redeliver(tid, hook.id, None, T0) == 0
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        page = await uow.outbox.list(tid, hook.id, status=DeliveryStatus.PENDING, limit=10, after=None)
    assert len(page.items) == 2 and {d.attempts for d in page.items} == {0}
    async with uow_factory() as uow:
        assert len(await uow.outbox.claim(T0, limit=10, lease_until=T0 + timedelta(seconds=1))) == 2
        assert await uow.outbox.prune(T0, limit=10) == 0
        assert await uow.outbox.prune(T0 + timedelta(days=1), limit=1) == 1
        await uow.commit()
    async with uow_factory() as uow:  # deleting the webhook deletes what it has not received
        assert await uow.webhooks.delete(tid, hook.id) is True
        await uow.commit()
    assert await deliveries_of(uow_factory, tid, hook.id) == []


async def test_a_lease_has_one_holder_until_it_expires(uow_factory: Factory) -> None:
    name = f"lease-{new_id()}"
    later = T0 + timedelta(seconds=15)
    async with uow_factory() as uow:
        assert await uow.outbox.acquire_lease(name, "a", T0, later) is True
        assert await uow.outbox.acquire_lease(name, "b", T0 + timedelta(seconds=5), later) is False
        assert await uow.outbox.acquire_lease(name, "a", T0 + timedelta(seconds=5), later + timedelta(5)) is True
        assert await uow.outbox.acquire_lease(name, "b", later, later + timedelta(15)) is False  # renewed by a
        assert await uow.outbox.acquire_lease(name, "b", later + timedelta(5), later + timedelta(20)) is True
        await uow.commit()


async def test_signing_keys_newest_first_and_pruned_but_the_newest(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    keys = [
        WebhookSigningKey(new_id(), tid, f"kid{i}", {"kty": "OKP", "x": str(i)}, b"sealed", T0 + timedelta(days=i))
        for i in range(3)
    ]
    async with uow_factory() as uow:
        for key in keys:
            await uow.webhooks.add_signing_key(key)
        await uow.commit()
    async with uow_factory() as uow:
        assert list(await uow.webhooks.list_signing_keys(tid)) == keys[::-1]
        assert await uow.webhooks.prune_signing_keys(tid, T0 + timedelta(days=10)) == 2
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert list(await uow.webhooks.list_signing_keys(tid)) == [keys[2]]


# --- the wallet store's statements ------------------------------------------------------------------------------


async def test_a_redemption_writes_its_events_and_messages_with_the_offer(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    tid = await tenant(uow_factory)
    hook, unrelated = webhook(tid, REDEEMED), webhook(tid, ISSUED)
    await webhooks_added(uow_factory, hook, unrelated)
    plain, with_tx = offer(tid), offer(tid, tx=True)
    await added(uow_factory, plain, with_tx)
    redemption = event(tid, OFFER_REDEEMED)
    grant = dataclasses.replace(
        new_grant(), events=(redemption,), messages=(message(tid, REDEEMED, payload={"redeemedAt": "t"}),)
    )
    assert await wallet_store.redeem_code(tid, plain.code_hash, T0, grant) is not None
    refused = dataclasses.replace(new_grant(), events=(event(tid, OFFER_REDEEMED),), messages=(message(tid, REDEEMED),))
    assert await wallet_store.redeem_code(tid, plain.code_hash, T0, refused) is None  # nothing written
    by_id = dataclasses.replace(new_grant(), events=(event(tid, OFFER_REDEEMED),))
    assert await wallet_store.redeem_offer(tid, with_tx.id, T0, by_id) is True
    identity = {"offerId": plain.id, "userId": plain.user_id, "credentialConfigurationIds": ["c1", "c2"]}
    written = await events_of(uow_factory, tid)
    assert {e.id for e in written} == {redemption.id, by_id.events[0].id}
    assert next(e for e in written if e.id == redemption.id).data == identity
    assert next(e for e in written if e.id != redemption.id).data["offerId"] == with_tx.id
    queued = await deliveries_of(uow_factory, tid, hook.id)
    assert [(d.event_id, d.payload) for d in queued] == [  # type: ignore[attr-defined]
        (grant.messages[0].id, {"redeemedAt": "t", **identity})
    ]
    assert await deliveries_of(uow_factory, tid, unrelated.id) == []


async def test_an_issuance_writes_its_events_and_messages_only_when_recorded(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    tid = await tenant(uow_factory)
    full, summary = webhook(tid, ISSUED), webhook(tid, SUMMARY)
    await webhooks_added(uow_factory, full, summary)
    item = offer(tid)
    await added(uow_factory, item)
    grant = new_grant()
    await wallet_store.redeem_code(tid, item.code_hash, T0, grant)

    def write(nonce: bytes, bound: int = 3) -> IssuanceWrite:
        return IssuanceWrite(
            tenant_id=tid,
            token_hash=grant.token_hash,
            configuration_id="c1",
            bound=bound,
            nonce_hashes=(nonce,),
            nonces_expire_at=T0 + timedelta(minutes=5),
            records=(record(tid, item.id),),
            offer_id=item.id,
            now=T0,
            events=(event(tid, CREDENTIAL_ISSUED),),
            messages=(message(tid, ISSUED, payload={"credential": "abc"}), message(tid, SUMMARY)),
        )

    recorded, used, bounded = write(b"n1" * 16), write(b"n1" * 16), write(b"n2" * 16, bound=1)
    assert await wallet_store.commit_issuance(recorded) is IssuanceWriteOutcome.RECORDED
    assert await wallet_store.commit_issuance(used) is IssuanceWriteOutcome.NONCE_USED
    assert await wallet_store.commit_issuance(bounded) is IssuanceWriteOutcome.BOUND_REACHED
    assert [e.id for e in await events_of(uow_factory, tid)] == [recorded.events[0].id]
    assert [d.payload for d in await deliveries_of(uow_factory, tid, full.id)] == [{"credential": "abc"}]  # type: ignore[attr-defined]
    assert [d.event_id for d in await deliveries_of(uow_factory, tid, summary.id)] == [recorded.messages[1].id]  # type: ignore[attr-defined]


async def test_refusals_record_their_events_in_the_same_statement(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    tid = await tenant(uow_factory)
    item = offer(tid, tx=True)
    await added(uow_factory, item)
    wrong = [event(tid, TOKEN_REFUSED) for _ in range(3)]
    locks = [event(tid, OFFER_LOCKED) for _ in range(3)]
    for refused, lock in zip(wrong, locks, strict=True):
        await wallet_store.record_failed_tx_code(tid, item.id, 2, events=[refused], lock_events=[lock])
    assert await wallet_store.record_failed_tx_code(tid, new_id(), 2, events=[event(tid)]) == 0  # no offer: nothing
    nonce_refusal, plain_refusal = event(tid, CREDENTIAL_REFUSED), event(tid, CREDENTIAL_REFUSED)
    await wallet_store.use_nonces([b"n" * 32], T0, events=[nonce_refusal])
    await wallet_store.record_events([plain_refusal])
    await wallet_store.record_events([])
    written = {e.id for e in await events_of(uow_factory, tid)}
    assert written == {*(e.id for e in wrong), locks[1].id, nonce_refusal.id, plain_refusal.id}
