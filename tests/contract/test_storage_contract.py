"""The storage contract: every repository behaves the same on memory, SQLite and PostgreSQL.

Each test creates its own tenants, so tests sharing one database do not see each other's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from openissuer.domain.api_clients import ApiClient, Role
from openissuer.domain.ids import DEFAULT_TENANT_ID, new_id
from openissuer.domain.tenants import Tenant
from openissuer.errors import ConflictError
from openissuer.ports.uow import UnitOfWork

T0 = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def make_tenant(uow_factory: Callable[[], UnitOfWork], name: str = "t") -> Tenant:
    tenant_id = new_id()
    tenant = Tenant(id=tenant_id, name=name, created_at=T0, public_url=f"https://{tenant_id}.example")
    async with uow_factory() as uow:
        await uow.tenants.add(tenant)
        await uow.commit()
    return tenant


def make_client(tenant_id: str, *, created_at: datetime = T0, roles: tuple[Role, ...] = (Role.ADMIN,)) -> ApiClient:
    return ApiClient(
        id=new_id(),
        tenant_id=tenant_id,
        client_id=f"client-{new_id()}",
        name="n",
        secret_hash="scrypt$x",
        roles=roles,
        created_at=created_at,
    )


async def test_default_tenant_exists(uow_factory: Callable[[], UnitOfWork]) -> None:
    async with uow_factory() as uow:
        tenant = await uow.tenants.get(DEFAULT_TENANT_ID)
    assert tenant is not None
    assert tenant.name == "default"
    assert tenant.public_url is None


async def test_tenant_round_trip_and_duplicate(uow_factory: Callable[[], UnitOfWork]) -> None:
    tenant = await make_tenant(uow_factory)
    async with uow_factory() as uow:
        assert await uow.tenants.get(tenant.id) == tenant
        assert await uow.tenants.get(new_id()) is None
        with pytest.raises(ConflictError):
            await uow.tenants.add(tenant)


async def test_api_client_round_trip(uow_factory: Callable[[], UnitOfWork]) -> None:
    tenant = await make_tenant(uow_factory)
    client = make_client(tenant.id, roles=(Role.ISSUER, Role.AUDITOR))
    async with uow_factory() as uow:
        await uow.api_clients.add(client)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_clients.get(tenant.id, client.id) == client
        assert await uow.api_clients.get_by_client_id(client.client_id) == client
        assert await uow.api_clients.get_by_client_id("nobody") is None
    assert client.created_at.tzinfo is not None


async def test_another_tenants_client_is_invisible(uow_factory: Callable[[], UnitOfWork]) -> None:
    mine, theirs = await make_tenant(uow_factory), await make_tenant(uow_factory)
    client = make_client(theirs.id)
    async with uow_factory() as uow:
        await uow.api_clients.add(client)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_clients.get(mine.id, client.id) is None
        assert (await uow.api_clients.list(mine.id, limit=10, after=None)).items == []
        assert await uow.api_clients.delete(mine.id, client.id) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_clients.get(theirs.id, client.id) == client


async def test_client_id_is_unique_across_tenants(uow_factory: Callable[[], UnitOfWork]) -> None:
    first, second = await make_tenant(uow_factory), await make_tenant(uow_factory)
    client = make_client(first.id)
    clash = ApiClient(**{**client.__dict__, "id": new_id(), "tenant_id": second.id})
    async with uow_factory() as uow:
        await uow.api_clients.add(client)
        with pytest.raises(ConflictError) as raised:
            await uow.api_clients.add(clash)
        assert raised.value.details[0].param == "clientId"
        # the failed insert must not poison the transaction
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_clients.get(first.id, client.id) == client
        assert await uow.api_clients.get(second.id, clash.id) is None


async def test_list_pages_in_creation_order_with_ties(uow_factory: Callable[[], UnitOfWork]) -> None:
    tenant = await make_tenant(uow_factory)
    clients = [make_client(tenant.id, created_at=T0 + timedelta(seconds=i // 2)) for i in range(7)]
    async with uow_factory() as uow:
        for client in reversed(clients):
            await uow.api_clients.add(client)
        await uow.commit()
    expected = sorted(clients, key=lambda c: (c.created_at, c.id))
    seen, after = [], None
    async with uow_factory() as uow:
        for _ in range(10):
            page = await uow.api_clients.list(tenant.id, limit=3, after=after)
            seen += page.items
            assert len(page.items) <= 3
            if page.next_key is None:
                break
            after = page.next_key
    assert [c.id for c in seen] == [c.id for c in expected]


async def test_exact_page_has_no_next_key(uow_factory: Callable[[], UnitOfWork]) -> None:
    tenant = await make_tenant(uow_factory)
    async with uow_factory() as uow:
        for i in range(2):
            await uow.api_clients.add(make_client(tenant.id, created_at=T0 + timedelta(seconds=i)))
        await uow.commit()
        page = await uow.api_clients.list(tenant.id, limit=2, after=None)
    assert len(page.items) == 2
    assert page.next_key is None


async def test_delete(uow_factory: Callable[[], UnitOfWork]) -> None:
    tenant = await make_tenant(uow_factory)
    client = make_client(tenant.id)
    async with uow_factory() as uow:
        await uow.api_clients.add(client)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_clients.delete(tenant.id, client.id) is True
        assert await uow.api_clients.delete(tenant.id, client.id) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.api_clients.get(tenant.id, client.id) is None


async def test_uncommitted_work_is_rolled_back(uow_factory: Callable[[], UnitOfWork]) -> None:
    tenant = await make_tenant(uow_factory)
    client = make_client(tenant.id)
    async with uow_factory() as uow:
        await uow.api_clients.add(client)
    async with uow_factory() as uow:
        assert await uow.api_clients.get(tenant.id, client.id) is None


async def test_error_inside_unit_rolls_back(uow_factory: Callable[[], UnitOfWork]) -> None:
    tenant = await make_tenant(uow_factory)
    client = make_client(tenant.id)
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await uow.api_clients.add(client)
            raise RuntimeError("boom")
    async with uow_factory() as uow:
        assert await uow.api_clients.get(tenant.id, client.id) is None


async def test_work_after_commit_needs_its_own_commit(uow_factory: Callable[[], UnitOfWork]) -> None:
    tenant = await make_tenant(uow_factory)
    kept, dropped = make_client(tenant.id), make_client(tenant.id)
    async with uow_factory() as uow:
        await uow.api_clients.add(kept)
        await uow.commit()
        await uow.api_clients.add(dropped)
    async with uow_factory() as uow:
        assert await uow.api_clients.get(tenant.id, kept.id) == kept
        assert await uow.api_clients.get(tenant.id, dropped.id) is None


async def test_timestamps_keep_microseconds_and_utc(uow_factory: Callable[[], UnitOfWork]) -> None:
    tenant = await make_tenant(uow_factory)
    created = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    client = make_client(tenant.id, created_at=created)
    async with uow_factory() as uow:
        await uow.api_clients.add(client)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.api_clients.get(tenant.id, client.id)
    assert stored is not None
    assert stored.created_at == created
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_read_only_units_see_committed_data(uow_factory: Callable[..., UnitOfWork]) -> None:
    tenant = await make_tenant(uow_factory)
    client = make_client(tenant.id)
    async with uow_factory() as uow:
        await uow.api_clients.add(client)
        await uow.commit()
    async with uow_factory(read_only=True) as reader:
        assert await reader.api_clients.get(tenant.id, client.id) == client
        # a writer is not blocked by an open read-only unit (SQLite: no write lock is held)
        other = make_client(tenant.id)
        async with uow_factory() as writer:
            await writer.api_clients.add(other)
            await writer.commit()
    async with uow_factory(read_only=True) as reader:
        assert await reader.api_clients.get(tenant.id, other.id) == other
