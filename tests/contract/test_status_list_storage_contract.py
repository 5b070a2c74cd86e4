"""The storage contract of status lists and DID keys, on memory, SQLite and PostgreSQL: reserving positions (the
hot path's one statement, rolling over to a new list), the lists' management reads, revision and the statuses of
their credentials; the keys of DID documents. Cross-process races are at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from oi_status_race import racing_allocators
from openissuer.adapters.memory.status_lists import InMemoryStatusListStore
from openissuer.adapters.sql.postgres_status_lists import PostgresStatusListStore
from openissuer.adapters.sql.postgres_wallet_store import PostgresWalletStore
from openissuer.adapters.sql.sqlite_status_lists import SqliteStatusListStore
from openissuer.adapters.sql.sqlite_wallet_store import SqliteWalletStore
from openissuer.domain.dids import DidKey
from openissuer.domain.durations import Duration
from openissuer.domain.ids import DEFAULT_TENANT_ID, new_id
from openissuer.domain.issued import IssuedCredentialRecord, StatusReference
from openissuer.domain.status_list_configurations import StatusListConfiguration
from openissuer.domain.status_lists import StatusListScope
from openissuer.domain.tenants import Tenant
from openissuer.errors import ConflictError
from openissuer.ports.status_lists import NewStatusList, StatusListStore
from openissuer.ports.uow import UnitOfWork

T0 = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
Factory = Callable[[], UnitOfWork]


@pytest.fixture
async def status_list_store(wallet_store: Any, memory_store: Any) -> AsyncIterator[StatusListStore]:
    if isinstance(wallet_store, SqliteWalletStore):
        yield SqliteStatusListStore(wallet_store)
    elif isinstance(wallet_store, PostgresWalletStore):
        yield PostgresStatusListStore(wallet_store.pool)
    else:
        yield InMemoryStatusListStore(memory_store)


async def _tenant(uow_factory: Factory) -> str:
    tenant = Tenant(id=new_id(), name="t", created_at=T0)
    async with uow_factory() as uow:
        await uow.tenants.add(tenant)
        await uow.commit()
    return tenant.id


def _candidate(key: bytes = b"k" * 32) -> NewStatusList:
    return NewStatusList(new_id(), key, T0)


async def test_positions_are_taken_in_order_and_a_full_list_is_followed_by_a_new_one(
    uow_factory: Factory, status_list_store: StatusListStore
) -> None:
    tenant_id = await _tenant(uow_factory)
    first = await status_list_store.reserve(tenant_id, "k", 5, 2, _candidate(b"a" * 32))
    assert (first.first, first.count, first.size, first.permutation_key) == (0, 2, 5, b"a" * 32)
    second = await status_list_store.reserve(tenant_id, "k", 5, 3, _candidate())
    assert (second.list_id, second.first) == (first.list_id, 2)  # the list is now full
    third = await status_list_store.reserve(tenant_id, "k", 5, 1, _candidate(b"b" * 32))
    assert third.list_id != first.list_id and (third.first, third.permutation_key) == (0, b"b" * 32)
    fourth = await status_list_store.reserve(tenant_id, "k", 5, 4, _candidate())
    assert (fourth.list_id, fourth.first) == (third.list_id, 1)
    fifth = await status_list_store.reserve(tenant_id, "k", 5, 2, _candidate())  # one left: too few for two
    assert fifth.list_id not in {first.list_id, third.list_id} and fifth.first == 0
    other_kind = await status_list_store.reserve(tenant_id, "other", 5, 1, _candidate())
    other_tenant = await status_list_store.reserve(await _tenant(uow_factory), "k", 5, 1, _candidate())
    assert (other_kind.first, other_tenant.first) == (0, 0)
    async with uow_factory() as uow:
        page = await uow.status_lists.list(tenant_id, "k", limit=10, after=None)
        lists = {s.id: s for s in page.items}
    assert [lists[i].allocated for i in (first.list_id, third.list_id, fifth.list_id)] == [5, 5, 2]
    assert sorted(s.sequence for s in lists.values()) == [0, 1, 2]
    with pytest.raises(ValueError, match="count"):
        await status_list_store.reserve(tenant_id, "k", 5, 6, _candidate())


def _record(tenant_id: str, list_id: str, index: int, status: str = "valid") -> IssuedCredentialRecord:
    return IssuedCredentialRecord(
        id=new_id(),
        tenant_id=tenant_id,
        configuration_id="c",
        format="cwt",
        profile="compact",
        credential_type="t",
        issued_at=T0,
        valid_from=T0,
        valid_until=T0 + timedelta(days=1),
        status=status,
        status_reference=StatusReference(list_id, index),
    )


async def test_the_entries_of_a_list_its_revision_and_a_deleted_record(
    uow_factory: Factory, status_list_store: StatusListStore
) -> None:
    tenant_id = await _tenant(uow_factory)
    reserved = await status_list_store.reserve(tenant_id, "k", 100, 3, _candidate())
    records = [_record(tenant_id, reserved.list_id, index) for index in (7, 42, 99)]
    async with uow_factory() as uow:
        for record in records:
            await uow.issued_credentials.add(record)
        assert await uow.issued_credentials.set_status(tenant_id, records[1].id, "revoked")
        assert not await uow.issued_credentials.set_status(tenant_id, "missing", "revoked")
        assert not await uow.issued_credentials.set_status(tenant_id, records[0].id, "invalid", expected="revoked")
        await uow.status_lists.set_entry(tenant_id, reserved.list_id, 42, "revoked")
        await uow.status_lists.set_entry(tenant_id, reserved.list_id, 7, "suspended")
        await uow.status_lists.set_entry(tenant_id, reserved.list_id, 7, "invalid")  # an upsert
        await uow.status_lists.set_entry(tenant_id, reserved.list_id, 99, "suspended")
        await uow.status_lists.set_entry(tenant_id, reserved.list_id, 99, "valid")  # valid is no entry
        await uow.status_lists.bump_revision(tenant_id, reserved.list_id)
        await uow.commit()
    other_tenant = await _tenant(uow_factory)
    async with uow_factory() as uow:
        assert await uow.issued_credentials.delete(tenant_id, records[1].id)
        assert not await uow.issued_credentials.delete(other_tenant, records[0].id)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.status_lists.get(tenant_id, reserved.list_id)
        revoked = await uow.status_lists.indexes_with_status(tenant_id, reserved.list_id, "revoked")
        entries = await uow.status_lists.entries(tenant_id, reserved.list_id)
        at_42 = await uow.status_lists.entry_status(tenant_id, reserved.list_id, 42)
        at_43 = await uow.status_lists.entry_status(tenant_id, reserved.list_id, 43)
        record_7 = await uow.issued_credentials.find_by_status_entry(tenant_id, reserved.list_id, 7)
        deleted = await uow.issued_credentials.get(tenant_id, records[1].id)
        elsewhere = await uow.status_lists.get(other_tenant, reserved.list_id)
        not_mine = await uow.status_lists.entries(other_tenant, reserved.list_id)
    assert found is not None and (found.revision, found.allocated, found.size) == (1, 3, 100)
    assert list(revoked) == [42] and dict(entries) == {42: "revoked", 7: "invalid"}
    assert (at_42, at_43) == ("revoked", "valid")  # the deleted record's entry stays
    assert record_7 is not None and record_7.id == records[0].id and deleted is None
    assert elsewhere is None and dict(not_mine) == {}  # another tenant's list is not found
    head = await status_list_store.head(tenant_id, reserved.list_id)
    assert head is not None and (head.kind, head.revision, head.size) == ("k", 1, 100)
    assert await status_list_store.head(other_tenant, reserved.list_id) is None
    async with uow_factory() as uow:  # the head carries the tenant's configuration version, read with it
        version = await uow.tenants.get_config_version(tenant_id)
        await uow.did_keys.add(DidKey(new_id(), tenant_id, "headvers", {"kty": "EC"}, b"s", T0, T0 + timedelta(1)))
        await uow.commit()
    moved = await status_list_store.head(tenant_id, reserved.list_id)
    assert (
        head.config_version == (version or 0) and moved is not None and moved.config_version == head.config_version + 1
    )


async def test_blocks_take_what_is_left_and_scopes_keep_their_own_lists(
    uow_factory: Factory, status_list_store: StatusListStore
) -> None:
    tenant_id = await _tenant(uow_factory)
    mdl = StatusListScope("org.iso.18013.5.1.mDL", "iaca-1")
    first = await status_list_store.reserve(tenant_id, "k", 10, 1, _candidate(), scope=mdl, up_to=4)
    assert (first.first, first.count) == (0, 4)
    second = await status_list_store.reserve(tenant_id, "k", 10, 2, _candidate(), scope=mdl, up_to=4)
    assert (second.list_id, second.first, second.count) == (first.list_id, 4, 4)
    rest = await status_list_store.reserve(tenant_id, "k", 10, 1, _candidate(), scope=mdl, up_to=4)
    assert (rest.list_id, rest.first, rest.count) == (first.list_id, 8, 2)  # the end of the list: what is left
    rolled = await status_list_store.reserve(tenant_id, "k", 10, 3, _candidate(), scope=mdl, up_to=20)
    assert rolled.list_id != first.list_id and (rolled.first, rolled.count) == (0, 10)  # at most the list
    other_type = await status_list_store.reserve(
        tenant_id, "k", 10, 1, _candidate(), scope=StatusListScope("x", "iaca-1")
    )
    other_iaca = await status_list_store.reserve(
        tenant_id, "k", 10, 1, _candidate(), scope=StatusListScope("x", "iaca-2")
    )
    unscoped = await status_list_store.reserve(tenant_id, "k", 10, 1, _candidate())
    assert len({other_type.list_id, other_iaca.list_id, unscoped.list_id, first.list_id}) == 4
    async with uow_factory() as uow:
        found = await uow.status_lists.get(tenant_id, rolled.list_id)
    assert found is not None and (found.credential_type, found.authority_id, found.sequence) == (
        "org.iso.18013.5.1.mDL",
        "iaca-1",
        1,
    )


async def test_status_list_configurations_one_per_type(uow_factory: Factory) -> None:
    tenant_id = await _tenant(uow_factory)
    configuration = StatusListConfiguration(
        new_id(), tenant_id, "mobile", "org.iso.18013.5.1.mDL", Duration(days=1), Duration(days=2), T0, T0
    )
    async with uow_factory() as uow:
        await uow.status_list_configurations.add(configuration)
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(ConflictError):
            await uow.status_list_configurations.add(replace(configuration, id=new_id()))
    async with uow_factory() as uow:
        await uow.status_list_configurations.add(replace(configuration, id=new_id(), profile="sd-jwt"))
        changed = replace(configuration, time_to_live=Duration(hours=6), updated_at=T0 + timedelta(hours=1))
        assert await uow.status_list_configurations.update(changed)
        await uow.commit()
    other_tenant = await _tenant(uow_factory)
    async with uow_factory() as uow:
        found = await uow.status_list_configurations.find(tenant_id, "mobile", "org.iso.18013.5.1.mDL")
        page = await uow.status_list_configurations.list(tenant_id, "mobile", limit=10, after=None)
        missing = await uow.status_list_configurations.get(other_tenant, configuration.id)
        assert await uow.status_list_configurations.delete(tenant_id, configuration.id)
        await uow.commit()
    assert found is not None and found.time_to_live == Duration(hours=6) and found.expiry == Duration(days=2)
    assert [c.id for c in page.items] == [configuration.id] and missing is None


async def test_did_keys_are_stored_per_tenant_and_raise_the_configuration_version(uow_factory: Factory) -> None:
    tenant_id = await _tenant(uow_factory)
    key = DidKey(new_id(), tenant_id, "abcdefgh", {"kty": "EC"}, b"sealed", T0, T0 + timedelta(days=9))
    newer = replace(key, id=new_id(), kid="ijklmnop", created_at=T0 + timedelta(days=1))
    async with uow_factory() as uow:
        before = await uow.tenants.get_config_version(tenant_id)
        assert await uow.did_keys.add(key) and await uow.did_keys.add(newer)
        assert not await uow.did_keys.add(replace(key, id=new_id()))  # the same kid in the same tenant
        await uow.commit()
    other_tenant = await _tenant(uow_factory)
    async with uow_factory() as uow:
        keys = await uow.did_keys.list(tenant_id)
        after = await uow.tenants.get_config_version(tenant_id)
        other = await uow.did_keys.list(other_tenant)
    assert [k.kid for k in keys] == ["ijklmnop", "abcdefgh"] and keys[1] == key
    assert after == (before or 0) + 2 and list(other) == []


@pytest.mark.postgres
def test_processes_racing_on_postgres_never_share_a_position(postgres_url: str) -> None:
    _race(postgres_url)


def test_processes_racing_on_sqlite_never_share_a_position(sqlite_url: str) -> None:
    _race(sqlite_url)


def _race(url: str) -> None:
    """Three processes x 40 tasks reserve 1-3 positions each on lists of 50 (one round), then blocks of up to 7 (a
    second round): lists fill up while they race, and no position of any list is taken twice."""
    with racing_allocators(url, processes=3, tasks=40) as racers:
        for block in (None, 7):
            taken = racers.reserve(DEFAULT_TENANT_ID, new_id(), size=50, block=block)
            positions = [(list_id, p) for list_id, first, count in taken for p in range(first, first + count)]
            assert len(positions) == len(set(positions)) == sum(count for _, _, count in taken)
            per_list: dict[str, int] = {}
            for list_id, _ in positions:
                per_list[list_id] = per_list.get(list_id, 0) + 1
            assert len(per_list) >= 4 and all(used <= 50 for used in per_list.values())
            if block is not None:  # the block of each reservation, or what was left of its list
                assert all(count == 7 or first + count == 50 for _, first, count in taken)
