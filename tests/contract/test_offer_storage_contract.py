"""The storage contract for users and offers on the management side (the wallet endpoints' statements are in
test_wallet_store_contract.py), on memory, SQLite and PostgreSQL."""

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


async def test_offers_are_stored_and_revoked_once(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    item = offer(tid, tx=True)
    async with uow_factory() as uow:
        await uow.offers.add(item)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.offers.get(tid, item.id) == item
        assert await uow.offers.get(other, item.id) is None
        assert await uow.offers.revoke(other, item.id, T0) is False
        assert await uow.offers.revoke(tid, item.id, T0) is True
        assert await uow.offers.revoke(tid, item.id, T0) is False
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.offers.get(tid, item.id)
    assert stored is not None and stored.revoked_at == T0 and stored.sealed_code is None
