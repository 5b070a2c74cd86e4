"""The storage contract of claims sources, the interaction hook (and holders' visits to it) and users, on memory,
SQLite and PostgreSQL.

Everything read back equals what was stored; writes to claims sources raise the tenant's configuration version
(issuance caches them); a visit to the hook is taken once, also by processes racing for it; users are listed and
searched in pages, exactly. Each test makes its own tenants, so tests sharing one database do not meet.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openissuer.domain.authorization import AuthorizationRequest
from openissuer.domain.claim_sources import ApiKeyAuthorization, ClaimSource, OAuthClientCredentials, RequestMethod
from openissuer.domain.configurations import CredentialConfiguration
from openissuer.domain.ids import new_id
from openissuer.domain.interaction_hooks import HookSession, InteractionHook
from openissuer.domain.tenants import Tenant
from openissuer.domain.users import User, UserSearch
from openissuer.errors import ConflictError
from openissuer.ports.uow import UnitOfWork

T0 = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)
Factory = Callable[..., UnitOfWork]


async def tenant(uow_factory: Factory) -> str:
    t = Tenant(id=new_id(), name="t", created_at=T0)
    async with uow_factory() as uow:
        await uow.tenants.add(t)
        await uow.commit()
    return t.id


async def version(uow_factory: Factory, tenant_id: str) -> int:
    async with uow_factory(read_only=True) as uow:
        value = await uow.tenants.get_config_version(tenant_id)
    assert value is not None
    return value


# --- claims sources ----------------------------------------------------------------------------------------------


def api_key_source(tenant_id: str, *, created_at: datetime = T0) -> ClaimSource:
    return ClaimSource(
        id=new_id(),
        tenant_id=tenant_id,
        name="CRM ü",
        url="https://claims.example.com/lookup",
        request_method=RequestMethod.GET,
        request_parameters={"email": {"mapFrom": "claims.email"}, "kind": {"defaultValue": 1}},
        authorization=ApiKeyAuthorization(sealed_value=secrets.token_bytes(40), hint="abcd"),
        created_at=created_at,
        updated_at=created_at,
    )


def oauth_source(tenant_id: str) -> ClaimSource:
    return dataclasses.replace(
        api_key_source(tenant_id),
        request_method=RequestMethod.POST,
        authorization=OAuthClientCredentials(
            token_endpoint="https://auth.example.com/token",
            client_id="openissuer",
            sealed_client_secret=secrets.token_bytes(40),
            hint="",
            token_endpoint_auth_method="client_secret_post",
            audience="https://claims.example.com",
        ),
        strict=True,
    )


def configuration(tenant_id: str, claim_source_id: str | None) -> CredentialConfiguration:
    return CredentialConfiguration(
        id=new_id(),
        tenant_id=tenant_id,
        format="mso_mdoc",
        credential_type=f"org.example.{new_id()}",
        claim_mappings={"ns": {"a": {"defaultValue": "x"}}},
        created_at=T0,
        updated_at=T0,
        claim_source_id=claim_source_id,
    )


async def test_claim_source_round_trip_and_version(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    keyed, oauth = api_key_source(tid), oauth_source(tid)
    before = await version(uow_factory, tid)
    async with uow_factory() as uow:
        await uow.claim_sources.add(keyed)
        await uow.claim_sources.add(oauth)
        await uow.commit()
    assert await version(uow_factory, tid) == before + 2
    async with uow_factory(read_only=True) as uow:
        assert await uow.claim_sources.get(tid, keyed.id) == keyed
        assert await uow.claim_sources.get(tid, oauth.id) == oauth
        assert list(await uow.claim_sources.list_all(tid)) in ([keyed, oauth], [oauth, keyed])
        assert await uow.claim_sources.get(tid, new_id()) is None
    changed = dataclasses.replace(
        keyed, name="renamed", url="https://other.example.com/x", updated_at=T0 + timedelta(1)
    )
    async with uow_factory() as uow:
        assert await uow.claim_sources.update(changed)
        assert not await uow.claim_sources.update(api_key_source(tid))
        await uow.commit()
    assert await version(uow_factory, tid) == before + 3
    async with uow_factory() as uow:
        assert await uow.claim_sources.get(tid, keyed.id) == changed
        assert await uow.claim_sources.delete(tid, keyed.id)
        assert not await uow.claim_sources.delete(tid, keyed.id)
        await uow.commit()
    assert await version(uow_factory, tid) == before + 4


async def test_claim_sources_of_another_tenant_are_invisible(uow_factory: Factory) -> None:
    mine, theirs = await tenant(uow_factory), await tenant(uow_factory)
    source = api_key_source(theirs)
    async with uow_factory() as uow:
        await uow.claim_sources.add(source)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.claim_sources.get(mine, source.id) is None
        assert not await uow.claim_sources.lock(mine, source.id, exclusive=True)
        assert not await uow.claim_sources.update(dataclasses.replace(source, tenant_id=mine))
        assert not await uow.claim_sources.delete(mine, source.id)
        assert (await uow.claim_sources.list(mine, limit=10, after=None)).items == []
        assert await uow.claim_sources.get(theirs, source.id) == source


async def test_claim_sources_page(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    sources = [api_key_source(tid, created_at=T0 + timedelta(seconds=i)) for i in range(5)]
    async with uow_factory() as uow:
        for source in reversed(sources):
            await uow.claim_sources.add(source)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        first = await uow.claim_sources.list(tid, limit=3, after=None)
        second = await uow.claim_sources.list(tid, limit=3, after=first.next_key)
    assert [s.id for s in first.items + second.items] == [s.id for s in sources]
    assert second.next_key is None


async def test_configurations_referencing_a_source(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    source = api_key_source(tid)
    using = [configuration(tid, source.id) for _ in range(2)]
    async with uow_factory() as uow:
        await uow.claim_sources.add(source)
        for c in [*using, configuration(tid, None), configuration(other, source.id)]:
            await uow.credential_configurations.add(c)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.claim_sources.lock(tid, source.id, exclusive=False)
        assert set(await uow.claim_sources.referencing_configurations(tid, source.id)) == {c.id for c in using}
        assert await uow.claim_sources.referencing_configurations(tid, new_id()) == []


async def test_a_delete_sees_a_configuration_that_took_the_source_before_it(uow_factory: Factory) -> None:
    """The shared lock of a configuration being saved holds back the delete's exclusive one until it commits, so
    the delete then sees the reference (and refuses with 409) instead of leaving it dangling."""
    tid = await tenant(uow_factory)
    source = api_key_source(tid)
    async with uow_factory() as uow:
        await uow.claim_sources.add(source)
        await uow.commit()
    using = configuration(tid, source.id)

    async def delete() -> list[str]:
        async with uow_factory() as deleting:
            assert await deleting.claim_sources.lock(tid, source.id, exclusive=True)
            return list(await deleting.claim_sources.referencing_configurations(tid, source.id))

    async with uow_factory() as saving:
        assert await saving.claim_sources.lock(tid, source.id, exclusive=False)
        await saving.credential_configurations.add(using)
        racing = asyncio.create_task(delete())
        await asyncio.sleep(0.2)  # the delete starts while the configuration is not yet committed
        await saving.commit()
    assert await racing == [using.id]


# --- the interaction hook ----------------------------------------------------------------------------------------


def hook(tenant_id: str, **changes: Any) -> InteractionHook:
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "url": "https://hook.example.com/step",
        "claims": ("given_name", "email"),
        "session_timeout": 600,
        "disabled": False,
        "sealed_secret": secrets.token_bytes(60),
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return InteractionHook(**values)


def visit(tenant_id: str, *, expires_at: datetime = T0 + timedelta(minutes=10)) -> HookSession:
    request = AuthorizationRequest(
        client_id="wallet",
        redirect_uri="https://wallet.example/cb",
        state=None,
        code_challenge="c" * 43,
        configuration_ids=("a", "b"),
        by_authorization_details=True,
        issuer_state="s",
        forwarded_parameters={"login_hint": "ana"},
    )
    return HookSession(
        state_hash=secrets.token_bytes(32),
        tenant_id=tenant_id,
        session_id=new_id(),
        request=request,
        provider_id=new_id(),
        provider_url="https://idp.example.com",
        subject_id="alice ü",
        claims={"given_name": "Alice", "nested": {"n": [1, 2.5, True, None]}},
        expires_at=expires_at,
        created_at=T0,
    )


async def test_interaction_hook_put_get_delete(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    first = hook(tid)
    async with uow_factory() as uow:
        assert await uow.interaction_hooks.get(tid) is None
        await uow.interaction_hooks.put(first)
        await uow.commit()
    replaced = hook(tid, url="https://hook.example.com/v2", claims=(), disabled=True, updated_at=T0 + timedelta(1))
    async with uow_factory() as uow:
        assert await uow.interaction_hooks.get(tid) == first
        await uow.interaction_hooks.put(dataclasses.replace(replaced, created_at=T0 + timedelta(2)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.interaction_hooks.get(tid) == replaced  # the creation time stays
        assert await uow.interaction_hooks.get(other) is None
        assert not await uow.interaction_hooks.delete(other)
        assert await uow.interaction_hooks.delete(tid)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.interaction_hooks.get(tid) is None


async def test_a_visit_is_taken_once_and_not_after_it_expires(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    live, expiring = visit(tid), visit(tid, expires_at=T0 + timedelta(seconds=5))
    async with uow_factory() as uow:
        await uow.interaction_hooks.add_session(live)
        await uow.interaction_hooks.add_session(expiring)
        await uow.commit()
    now = T0 + timedelta(seconds=5)
    async with uow_factory() as uow:
        assert await uow.interaction_hooks.find_session(tid, live.state_hash) == live
        assert await uow.interaction_hooks.find_session(other, live.state_hash) is None
        assert not await uow.interaction_hooks.take_session(other, live.state_hash, now)
        assert not await uow.interaction_hooks.take_session(tid, expiring.state_hash, now)
        assert await uow.interaction_hooks.take_session(tid, live.state_hash, now)
        assert not await uow.interaction_hooks.take_session(tid, live.state_hash, now)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.interaction_hooks.find_session(tid, live.state_hash) == dataclasses.replace(
            live, consumed_at=now
        )


SQL_BACKENDS = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.mark.slow
@SQL_BACKENDS
async def test_a_visit_has_one_winner_across_processes(database_url: str, uow_factory: Factory) -> None:
    """3 processes x 4 connections race to take each of 4 visits (the hook's return arriving at several workers)."""
    from oi_race import racing_processes

    tid = await tenant(uow_factory)
    visits = [visit(tid) for _ in range(4)]
    async with uow_factory() as uow:
        for v in visits:
            await uow.interaction_hooks.add_session(v)
        await uow.commit()
    keys = [v.state_hash.hex() for v in visits]
    with racing_processes(database_url, processes=3, tasks=4) as racers:
        wins = racers.race("take_hook_session", tid, keys, T0 + timedelta(seconds=1))
    assert wins == dict.fromkeys(keys, 1)


# --- users -------------------------------------------------------------------------------------------------------


def user(tenant_id: str, claims: dict[str, Any], *, seconds: int = 0, subject: str | None = None) -> User:
    at = T0 + timedelta(seconds=seconds)
    return User(
        id=new_id(),
        tenant_id=tenant_id,
        claims=claims,
        created_at=at,
        updated_at=at,
        authentication_provider_id="provider" if subject else None,
        subject_id=subject,
    )


async def add_users(uow_factory: Factory, users: list[User]) -> None:
    async with uow_factory() as uow:
        for u in users:
            await uow.users.add(u)
        await uow.commit()


async def test_users_list_replace_delete(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    users = [user(tid, {"n": i}, seconds=i) for i in range(5)]
    await add_users(uow_factory, [*reversed(users), user(other, {})])
    async with uow_factory(read_only=True) as uow:
        first = await uow.users.list(tid, limit=2, after=None)
        rest = await uow.users.list(tid, limit=10, after=first.next_key)
    assert [u.id for u in first.items + rest.items] == [u.id for u in users] and rest.next_key is None
    changed = dataclasses.replace(
        users[0], claims={"n": "changed"}, authentication_provider_id="p", subject_id="s", updated_at=T0 + timedelta(1)
    )
    async with uow_factory() as uow:
        assert await uow.users.replace(changed)
        assert not await uow.users.replace(dataclasses.replace(changed, tenant_id=other))
        assert await uow.users.find_by_subject(tid, "p", "s") == changed
        with pytest.raises(ConflictError) as taken:
            await uow.users.replace(dataclasses.replace(users[1], authentication_provider_id="p", subject_id="s"))
        assert [d.param for d in taken.value.details] == ["authenticationProvider.subjectId"]
        assert not await uow.users.delete(other, users[1].id)
        assert await uow.users.delete(tid, users[1].id)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.users.get(tid, users[1].id) is None
        assert await uow.users.get(tid, users[0].id) == changed


async def test_users_search_is_exact(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    ana = user(tid, {"name": "Ana", "address": {"country": "NZ", "city": "Wellington"}, "age": 30, "tags": ["a"]})
    ana2 = user(tid, {"name": "Ana", "address": {"country": "AU"}, "age": 30.0, "vip": True}, seconds=1)
    bob = user(tid, {"name": "Bob", "address": {"country": "NZ"}, "age": "30", "vip": 1}, seconds=2, subject="bob")
    odd = user(tid, {"we'ird key": "v", "name": None}, seconds=3)
    await add_users(uow_factory, [ana, ana2, bob, odd, user(other, {"name": "Ana"})])

    async def ids(search: UserSearch) -> list[str]:
        async with uow_factory(read_only=True) as uow:
            return [u.id for u in (await uow.users.search(tid, search, limit=100, after=None)).items]

    assert await ids(UserSearch(claims={"name": "Ana"})) == [ana.id, ana2.id]
    assert await ids(UserSearch(claims={"address": {"country": "NZ"}})) == [ana.id, bob.id]
    assert await ids(UserSearch(claims={"name": "Ana", "address": {"country": "NZ"}})) == [ana.id]
    assert await ids(UserSearch(claims={"age": 30})) == [ana.id, ana2.id]  # "30" is not 30
    assert await ids(UserSearch(claims={"vip": True})) == [ana2.id]  # 1 is not true
    assert await ids(UserSearch(claims={"tags": ["a"]})) == [ana.id]
    assert await ids(UserSearch(claims={"tags": []})) == []
    assert await ids(UserSearch(claims={"we'ird key": "v"})) == [odd.id]
    assert await ids(UserSearch(claims={"name": None})) == [odd.id]
    assert await ids(UserSearch(claims={"address": "NZ"})) == []
    assert await ids(UserSearch(provider_id="provider", subject_id="bob")) == [bob.id]
    assert await ids(UserSearch(provider_id="provider", claims={"name": "Ana"})) == []
    assert await ids(UserSearch()) == [ana.id, ana2.id, bob.id, odd.id]


async def test_users_search_pages_are_full(uow_factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Matches are scattered among non-matches; each page still has ``limit`` of them until they run out."""
    from openissuer.adapters.sql import user_repositories

    monkeypatch.setattr(user_repositories, "SEARCH_BATCH", 3)  # several database batches per page
    tid = await tenant(uow_factory)
    users = [user(tid, {"even": i % 2 == 0, "i": i}, seconds=i) for i in range(20)]
    await add_users(uow_factory, users)
    found: list[str] = []
    after = None
    async with uow_factory(read_only=True) as uow:
        while True:
            page = await uow.users.search(tid, UserSearch(claims={"even": True}), limit=3, after=after)
            assert len(page.items) == 3 or page.next_key is None
            found += [u.id for u in page.items]
            if page.next_key is None:
                break
            after = page.next_key
    assert found == [u.id for u in users if u.claims["even"]]


async def test_used_or_expired_visits_are_pruned(uow_factory: Factory) -> None:
    """Housekeeping's delete: a visit used, or past its timeout, goes; an open one stays. Bounded by ``limit``."""
    tid = await tenant(uow_factory)
    now = T0 + timedelta(days=400)  # after every other test's visits: they go too
    used, expired = visit(tid, expires_at=now + timedelta(minutes=5)), visit(tid, expires_at=now)
    open_ = visit(tid, expires_at=now + timedelta(minutes=5))
    async with uow_factory() as uow:
        for item in (used, expired, open_):
            await uow.interaction_hooks.add_session(item)
        assert await uow.interaction_hooks.take_session(tid, used.state_hash, now - timedelta(seconds=1))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.interaction_hooks.prune_sessions(now, limit=1) == 1
        await uow.commit()
    while True:
        async with uow_factory() as uow:
            pruned = await uow.interaction_hooks.prune_sessions(now, limit=1000)
            await uow.commit()
        if pruned < 1000:
            break
    async with uow_factory(read_only=True) as uow:
        assert await uow.interaction_hooks.find_session(tid, used.state_hash) is None
        assert await uow.interaction_hooks.find_session(tid, expired.state_hash) is None
        assert await uow.interaction_hooks.find_session(tid, open_.state_hash) == open_
