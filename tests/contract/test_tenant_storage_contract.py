"""Tenants in storage: one tenant per host key, also between processes creating tenants at once.

Wallet requests are routed by the host of a tenant's public URL, so two tenants with one host would route each
other's wallets. Each test uses its own hosts, so tests sharing one database do not see each other's tenants.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from openissuer.domain.ids import new_id
from openissuer.domain.pages import MAX_PAGE_LIMIT
from openissuer.domain.tenants import Tenant
from openissuer.errors import ConflictError
from openissuer.ports.uow import UnitOfWork

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
Factory = Callable[..., UnitOfWork]
SQL_BACKENDS = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def tenant(public_url: str | None) -> Tenant:
    return Tenant(id=new_id(), name="t", created_at=T0, public_url=public_url)


@pytest.mark.parametrize(
    "same_host",
    [
        "https://{h}.example/other",
        "https://{H}.EXAMPLE:443",
        "http://{h}.example:443",  # wallets' Host headers are keyed without :80 and :443 whatever the scheme
        "https://{h}.example:80",
        "https://{h}.example./x",
    ],
)
async def test_a_host_has_one_tenant(uow_factory: Factory, same_host: str) -> None:
    label = f"h{new_id()[:8]}"
    first = tenant(f"https://{label}.example")
    clash = tenant(same_host.format(h=label, H=label.upper()))
    async with uow_factory() as uow:
        await uow.tenants.add(first)
        with pytest.raises(ConflictError) as raised:
            await uow.tenants.add(clash)
        assert raised.value.details[0].param == "publicUrl"
        await uow.commit()  # the refused insert must not poison the transaction
    async with uow_factory(read_only=True) as uow:
        assert await uow.tenants.get(first.id) == first
        assert await uow.tenants.get(clash.id) is None


async def test_an_idn_host_is_its_punycode_and_a_deleted_tenants_host_is_free(uow_factory: Factory) -> None:
    name = f"bücher-{new_id()[:8]}.example"
    a_label = name.encode("idna").decode()  # xn--bcher-…
    unicode, punycode = tenant(f"https://{name}"), tenant(f"https://{a_label.upper()}")
    async with uow_factory() as uow:
        await uow.tenants.add(unicode)
        with pytest.raises(ConflictError):
            await uow.tenants.add(punycode)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tenants.delete(unicode.id)
        await uow.tenants.add(punycode)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.tenants.add(tenant(f"https://other-{a_label}"))  # other hosts are free, and
        await uow.tenants.add(tenant(f"https://{a_label}:8443"))  # so is another port of the same name
        await uow.commit()


@pytest.mark.slow
@SQL_BACKENDS
async def test_concurrent_creations_of_one_host_make_one_tenant(database_url: str, uow_factory: Factory) -> None:
    """2 processes x 4 connections create a tenant with one public URL each, as 8 concurrent ``POST /v1/tenants``
    did (each read every tenant's host and found it free, then inserted): one is created, 7 get 409."""
    from oi_race import racing_processes

    keys = [f"https://race-{new_id()[:8]}.example", f"https://race-{new_id()[:8]}.example/path"]
    with racing_processes(database_url, processes=2, tasks=4) as racers:
        wins = racers.race("create_tenant", "unused", keys, T0 + timedelta(seconds=1))
    assert wins == dict.fromkeys(keys, 1)
    stored: list[str | None] = []
    after = None
    async with uow_factory(read_only=True) as uow:
        while True:
            page = await uow.tenants.list(limit=MAX_PAGE_LIMIT, after=after)
            stored += [t.public_url for t in page.items if t.public_url in keys]
            if (after := page.next_key) is None:
                break
    assert sorted(stored, key=str) == sorted(keys)
