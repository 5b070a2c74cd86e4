"""The storage contract for offers, grants and nonces: single-use rules hold on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from openissuer.domain.ids import new_id
from openissuer.domain.offers import PreAuthorizedOffer
from openissuer.domain.tenants import Tenant
from openissuer.ports.uow import UnitOfWork

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
Factory = Callable[[], UnitOfWork]


async def tenant(uow_factory: Factory) -> str:
    t = Tenant(id=new_id(), name="t", created_at=T0)
    async with uow_factory() as uow:
        await uow.tenants.add(t)
        await uow.commit()
    return t.id


def offer(tenant_id: str, *, tx: bool = False) -> PreAuthorizedOffer:
    return PreAuthorizedOffer(
        id=new_id(),
        tenant_id=tenant_id,
        user_id=new_id(),
        credential_configuration_ids=("c",),
        claims={"a": 1},
        code_hash=new_id().encode()[:32].ljust(32, b"x"),
        sealed_code=b"sealed",
        by_reference=False,
        expires_at=T0 + timedelta(minutes=5),
        created_at=T0,
        tx_code_hash=b"t" * 32 if tx else None,
    )


async def test_redeem_by_code_once(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    plain, with_tx = offer(tid), offer(tid, tx=True)
    async with uow_factory() as uow:
        await uow.offers.add(plain)
        await uow.offers.add(with_tx)
        await uow.commit()
    async with uow_factory() as uow:
        redeemed = await uow.offers.redeem_by_code(tid, plain.code_hash, T0)
        assert redeemed is not None and redeemed.id == plain.id and redeemed.claims == {"a": 1}
        assert await uow.offers.redeem_by_code(tid, with_tx.code_hash, T0) is None  # needs its transaction code
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.offers.redeem_by_code(tid, plain.code_hash, T0) is None
        stored = await uow.offers.get(tid, plain.id)
    assert stored is not None and stored.redeemed_at == T0 and stored.sealed_code is None


async def test_redeem_by_code_respects_expiry_and_tenant(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    item = offer(tid)
    async with uow_factory() as uow:
        await uow.offers.add(item)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.offers.redeem_by_code(other, item.code_hash, T0) is None
        assert await uow.offers.redeem_by_code(tid, item.code_hash, T0 + timedelta(minutes=5)) is None
    async with uow_factory() as uow:  # a rolled-back redemption leaves the offer redeemable
        assert await uow.offers.redeem_by_code(tid, item.code_hash, T0) is not None
    async with uow_factory() as uow:
        assert await uow.offers.redeem_by_code(tid, item.code_hash, T0) is not None


async def test_failed_tx_codes_lock_at_the_limit(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    item = offer(tid, tx=True)
    async with uow_factory() as uow:
        await uow.offers.add(item)
        await uow.commit()
    for expected in (1, 2, 3):
        async with uow_factory() as uow:
            assert await uow.offers.record_failed_tx_code(tid, item.id, 3) == expected
            await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.offers.get(tid, item.id)
        assert stored is not None and stored.locked
        assert await uow.offers.redeem(tid, item.id, T0) is False


async def test_nonces_are_single_use_and_expire(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    fresh, stale = new_id().encode()[:32], new_id().encode()[:32]
    async with uow_factory() as uow:
        await uow.nonces.add(tid, fresh, expires_at=T0 + timedelta(minutes=5), created_at=T0)
        await uow.nonces.add(tid, stale, expires_at=T0, created_at=T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.nonces.consume(tid, fresh, T0) is True
        assert await uow.nonces.consume(tid, fresh, T0) is False
        assert await uow.nonces.consume(tid, stale, T0) is False
        assert await uow.nonces.consume(tid, b"unknown-nonce-hash-0000000000000", T0) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.nonces.purge_expired(T0 + timedelta(seconds=1)) >= 1
        await uow.commit()


async def test_one_user_per_provider_and_subject(uow_factory: Factory) -> None:
    import pytest

    from openissuer.domain.users import User
    from openissuer.errors import ConflictError

    tid = await tenant(uow_factory)

    def user(subject: str | None) -> User:
        return User(
            id=new_id(),
            tenant_id=tid,
            claims={},
            created_at=T0,
            updated_at=T0,
            authentication_provider_id="p" if subject else None,
            subject_id=subject,
        )

    first = user("alice")
    async with uow_factory() as uow:
        await uow.users.add(first)
        await uow.users.add(user(None))
        await uow.users.add(user(None))  # users without a provider never clash
        with pytest.raises(ConflictError):
            await uow.users.add(user("alice"))
        await uow.commit()  # the failed insert did not poison the transaction
    async with uow_factory() as uow:
        assert await uow.users.find_by_subject(tid, "p", "alice") == first
        assert await uow.users.find_by_subject(tid, "p", "bob") is None


async def test_fresh_nonces_are_found_without_being_used_up(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    fresh, used, stale = (new_id().encode()[:32] for _ in range(3))
    async with uow_factory() as uow:
        for nonce_hash, expires in ((fresh, T0 + timedelta(minutes=5)), (used, T0 + timedelta(minutes=5))):
            await uow.nonces.add(tid, nonce_hash, expires_at=expires, created_at=T0)
        await uow.nonces.add(tid, stale, expires_at=T0, created_at=T0)
        assert await uow.nonces.consume(tid, used, T0) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.nonces.find_fresh(tid, [fresh, used, stale, b"u" * 32], T0) == {fresh}
        assert await uow.nonces.find_fresh(other, [fresh], T0) == set()
        assert await uow.nonces.find_fresh(tid, [], T0) == set()
        assert await uow.nonces.consume(tid, fresh, T0) is True  # finding it did not use it up


async def test_grant_state_reads_claims_version_and_issued_counts(uow_factory: Factory) -> None:
    from openissuer.domain.offers import AccessGrant
    from openissuer.domain.users import User

    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    user = User(id=new_id(), tenant_id=tid, claims={"persisted": True}, created_at=T0, updated_at=T0)
    grant = AccessGrant(
        token_hash=new_id().encode()[:32],
        tenant_id=tid,
        user_id=user.id,
        credential_configuration_ids=("c1", "c2"),
        credential_identifiers={"id-1": "c1"},
        notification_id="n",
        claims={"offer": 1},
        expires_at=T0 + timedelta(minutes=5),
        created_at=T0,
        offer_id=new_id(),
    )
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.access_grants.add(grant)
        await uow.commit()
    async with uow_factory() as uow:
        state = await uow.access_grants.get_state(tid, grant.token_hash)
        assert state is not None
        assert (state.grant, state.user_claims, state.issued) == (grant, {"persisted": True}, {})
        assert await uow.access_grants.get_state(other, grant.token_hash) is None  # another tenant's token
        assert await uow.access_grants.get_state(tid, b"u" * 32) is None
        before = state.config_version
        assert await uow.access_grants.reserve_issuances(grant.token_hash, "c1", 2, 3, T0) is True
        assert await uow.access_grants.reserve_issuances(grant.token_hash, "c1", 2, 3, T0) is False  # 4 > 3
        assert await uow.access_grants.reserve_issuances(grant.token_hash, "c1", 1, 3, T0) is True
        assert await uow.access_grants.reserve_issuances(grant.token_hash, "c2", 4, 3, T0) is False
        assert await uow.access_grants.reserve_issuances(grant.token_hash, "c2", 3, 3, T0) is True
        await uow.commit()
    async with uow_factory() as uow:
        state = await uow.access_grants.get_state(tid, grant.token_hash)
        assert state is not None and state.issued == {"c1": 3, "c2": 3} and state.config_version == before
