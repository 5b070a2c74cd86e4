"""The storage contract of the Authorization Code flow on memory, SQLite and PostgreSQL.

Wallet clients, the tenant's authentication provider, the flow's short-lived state (reusable offers, pushed
requests, sign-in sessions, authorization codes) and the access grants made from codes. Single-use items are used
up once; everything read back equals what was stored (aware UTC datetimes with microseconds, bytes, dicts, tuples).
Each test creates its own tenants and random keys, so tests sharing one database do not see each other's rows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openissuer.domain.authorization import (
    AuthenticationProvider,
    AuthorizationCode,
    AuthorizationOffer,
    AuthorizationRequest,
    AuthorizationSession,
    PushedRequest,
    WalletClient,
)
from openissuer.domain.ids import new_id
from openissuer.domain.offers import AccessGrant
from openissuer.domain.tenants import Tenant
from openissuer.domain.users import User
from openissuer.errors import ConflictError
from openissuer.ports.uow import UnitOfWork
from openissuer.ports.wallet_store import WalletStore

T0 = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)
Factory = Callable[..., UnitOfWork]


async def tenant(uow_factory: Factory) -> str:
    t = Tenant(id=new_id(), name="t", created_at=T0)
    async with uow_factory() as uow:
        await uow.tenants.add(t)
        await uow.commit()
    return t.id


def digest() -> bytes:
    """A random 32-byte value standing in for the hash of a secret."""
    return secrets.token_bytes(32)


def assert_utc(*values: datetime | None) -> None:
    for value in values:
        assert value is not None and value.utcoffset() == timedelta(0), value


# --- wallet clients ---------------------------------------------------------------------------------------------


def wallet_client(tenant_id: str, *, client_id: str | None = None, created_at: datetime = T0) -> WalletClient:
    return WalletClient(
        id=new_id(),
        tenant_id=tenant_id,
        client_id=client_id or f"wallet-{new_id()}",
        client_name="Wallet ü",
        redirect_uris=("https://wallet.example/cb", "myapp://cb"),
        grant_types=("authorization_code", "urn:ietf:params:oauth:grant-type:pre-authorized_code"),
        token_endpoint_auth_method="none",
        created_at=created_at,
    )


async def test_wallet_client_round_trip(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    named = wallet_client(tid, created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    unnamed = dataclasses.replace(wallet_client(tid), client_name=None, redirect_uris=("https://w.example/only",))
    async with uow_factory() as uow:
        await uow.wallet_clients.add(named)
        await uow.wallet_clients.add(unnamed)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.wallet_clients.get(tid, named.id) == named
        assert await uow.wallet_clients.get_by_client_id(tid, named.client_id) == named
        stored = await uow.wallet_clients.get(tid, unnamed.id)
        assert await uow.wallet_clients.get(tid, new_id()) is None
        assert await uow.wallet_clients.get_by_client_id(tid, "nobody") is None
    assert stored == unnamed
    assert isinstance(stored.redirect_uris, tuple) and isinstance(stored.grant_types, tuple)
    assert_utc(stored.created_at)


async def test_wallet_client_id_is_unique_per_tenant(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    first = wallet_client(tid, client_id="shared-name")
    async with uow_factory() as uow:
        await uow.wallet_clients.add(first)
        with pytest.raises(ConflictError) as raised:
            await uow.wallet_clients.add(wallet_client(tid, client_id="shared-name"))
        assert [d.param for d in raised.value.details] == ["clientId"]
        await uow.commit()  # the failed insert did not poison the transaction
    elsewhere = wallet_client(other, client_id="shared-name")
    async with uow_factory() as uow:
        await uow.wallet_clients.add(elsewhere)  # another tenant may use the same client_id
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.wallet_clients.get_by_client_id(tid, "shared-name") == first
        assert await uow.wallet_clients.get_by_client_id(other, "shared-name") == elsewhere
        assert len((await uow.wallet_clients.list(tid, limit=10, after=None)).items) == 1


async def test_another_tenants_wallet_client_is_invisible(uow_factory: Factory) -> None:
    mine, theirs = await tenant(uow_factory), await tenant(uow_factory)
    client = wallet_client(theirs)
    async with uow_factory() as uow:
        await uow.wallet_clients.add(client)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.wallet_clients.get(mine, client.id) is None
        assert await uow.wallet_clients.get_by_client_id(mine, client.client_id) is None
        assert (await uow.wallet_clients.list(mine, limit=10, after=None)).items == []
        assert await uow.wallet_clients.update(dataclasses.replace(client, tenant_id=mine, client_name="x")) is False
        assert await uow.wallet_clients.delete(mine, client.id) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.wallet_clients.get(theirs, client.id) == client


async def test_wallet_clients_page_in_creation_order(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    clients = [wallet_client(tid, created_at=T0 + timedelta(seconds=i // 2)) for i in range(7)]
    async with uow_factory() as uow:
        for client in reversed(clients):
            await uow.wallet_clients.add(client)
        await uow.commit()
    expected = sorted(clients, key=lambda c: (c.created_at, c.id))
    pages: list[list[WalletClient]] = []
    after = None
    async with uow_factory(read_only=True) as uow:
        for _ in range(5):
            page = await uow.wallet_clients.list(tid, limit=3, after=after)
            pages.append(page.items)
            if page.next_key is None:
                break
            after = page.next_key
        exact = await uow.wallet_clients.list(tid, limit=7, after=None)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [c for page in pages for c in page] == expected
    assert exact.items == expected and exact.next_key is None


async def test_wallet_client_update_and_delete(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    client = wallet_client(tid)
    async with uow_factory() as uow:
        await uow.wallet_clients.add(client)
        await uow.commit()
    changed = dataclasses.replace(
        client,
        client_name=None,
        redirect_uris=("https://wallet.example/new",),
        grant_types=("authorization_code",),
    )
    async with uow_factory() as uow:
        assert await uow.wallet_clients.update(changed) is True
        assert await uow.wallet_clients.update(dataclasses.replace(changed, id=new_id())) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.wallet_clients.get(tid, client.id) == changed
        assert await uow.wallet_clients.get_by_client_id(tid, client.client_id) == changed
        assert await uow.wallet_clients.delete(tid, client.id) is True
        assert await uow.wallet_clients.delete(tid, client.id) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.wallet_clients.get(tid, client.id) is None
        assert await uow.wallet_clients.get_by_client_id(tid, client.client_id) is None
        await uow.wallet_clients.add(dataclasses.replace(client, id=new_id()))  # the client_id is free again


# --- authentication providers -----------------------------------------------------------------------------------


def provider(tenant_id: str, **changes: Any) -> AuthenticationProvider:
    base = AuthenticationProvider(
        id=new_id(),
        tenant_id=tenant_id,
        url="https://idp.example/realms/r",
        scope=("openid", "profile", "email"),
        client_id="openissuer",
        sealed_client_secret=b"\x00sealed\xffsecret",
        secret_hint="****cret",
        token_endpoint_auth_method="client_secret_basic",
        static_request_parameters={"prompt": "login", "ui_locales": "de en"},
        forwarded_request_parameters=("login_hint",),
        claims_to_persist=("given_name", "family_name"),
        created_at=T0,
        updated_at=T0 + timedelta(microseconds=1),
    )
    return dataclasses.replace(base, **changes)


async def test_provider_round_trip(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    item = provider(tid)
    async with uow_factory() as uow:
        await uow.authentication_providers.add(item)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        stored = await uow.authentication_providers.get(tid, item.id)
        assert await uow.authentication_providers.get_for_tenant(tid) == item
        assert await uow.authentication_providers.get(other, item.id) is None
        assert await uow.authentication_providers.get(tid, new_id()) is None
        assert await uow.authentication_providers.get_for_tenant(other) is None
    assert stored == item
    assert isinstance(stored.scope, tuple) and isinstance(stored.claims_to_persist, tuple)
    assert isinstance(stored.sealed_client_secret, bytes)
    assert_utc(stored.created_at, stored.updated_at)


async def test_one_provider_per_tenant(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    first = provider(tid)
    async with uow_factory() as uow:
        await uow.authentication_providers.add(first)
        with pytest.raises(ConflictError):
            await uow.authentication_providers.add(provider(tid, url="https://other-idp.example"))
        await uow.authentication_providers.add(provider(other))  # the failed insert did not poison the transaction
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.authentication_providers.get_for_tenant(tid) == first
        assert (await uow.authentication_providers.get_for_tenant(other)) is not None


async def test_provider_update_and_delete(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    item = provider(tid)
    async with uow_factory() as uow:
        await uow.authentication_providers.add(item)
        await uow.commit()
    changed = provider(
        tid,
        id=item.id,
        url="https://idp2.example",
        scope=("openid",),
        client_id="other-client",
        sealed_client_secret=b"new-sealed",
        secret_hint="****new",
        token_endpoint_auth_method="client_secret_post",
        static_request_parameters={},
        forwarded_request_parameters=(),
        claims_to_persist=(),
        updated_at=T0 + timedelta(hours=1),
    )
    async with uow_factory() as uow:
        assert await uow.authentication_providers.update(changed) is True
        assert await uow.authentication_providers.update(dataclasses.replace(changed, tenant_id=other)) is False
        assert await uow.authentication_providers.update(dataclasses.replace(changed, id=new_id())) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.authentication_providers.get(tid, item.id) == changed
        assert await uow.authentication_providers.delete(other, item.id) is False
        assert await uow.authentication_providers.delete(tid, item.id) is True
        assert await uow.authentication_providers.delete(tid, item.id) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.authentication_providers.get_for_tenant(tid) is None
        await uow.authentication_providers.add(provider(tid))  # a deleted provider can be replaced by a new one
        await uow.commit()


# --- reusable offers and pushed requests ------------------------------------------------------------------------


async def test_offers_are_found_by_issuer_state(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    offer = AuthorizationOffer(
        id=new_id(),
        tenant_id=tid,
        configuration_ids=("mdl", "pid"),
        request_parameters={"prompt": "login", "nested": {"a": [1, 2]}},
        issuer_state=new_id(),
        created_at=T0,
    )
    async with uow_factory() as uow:
        await uow.authorization.add_offer(offer)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        stored = await uow.authorization.find_offer(tid, offer.issuer_state)
        assert await uow.authorization.find_offer(tid, offer.issuer_state) == offer  # reusable: found again
        assert await uow.authorization.find_offer(other, offer.issuer_state) is None
        assert await uow.authorization.find_offer(tid, new_id()) is None
    assert stored == offer and isinstance(stored.configuration_ids, tuple)
    assert_utc(stored.created_at)


def pushed_request(tenant_id: str, *, expires_at: datetime = T0 + timedelta(seconds=60)) -> PushedRequest:
    return PushedRequest(
        request_uri_hash=digest(),
        tenant_id=tenant_id,
        client_id="wallet",
        parameters={"response_type": "code", "client_id": "wallet", "scope": "mdl", "state": "s ü"},
        expires_at=expires_at,
        created_at=T0,
    )


async def test_pushed_request_is_taken_once(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    request = pushed_request(tid)
    async with uow_factory() as uow:
        await uow.authorization.add_pushed_request(request)
        await uow.commit()
    async with uow_factory() as uow:
        taken = await uow.authorization.take_pushed_request(tid, request.request_uri_hash, T0)
        assert await uow.authorization.take_pushed_request(tid, request.request_uri_hash, T0) is None
        await uow.commit()
    assert taken == request
    assert_utc(taken.expires_at, taken.created_at)
    async with uow_factory() as uow:
        assert await uow.authorization.take_pushed_request(tid, request.request_uri_hash, T0) is None


async def test_pushed_request_expires_and_belongs_to_its_tenant(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    request = pushed_request(tid)
    async with uow_factory() as uow:
        await uow.authorization.add_pushed_request(request)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.authorization.take_pushed_request(other, request.request_uri_hash, T0) is None
        assert await uow.authorization.take_pushed_request(tid, request.request_uri_hash, request.expires_at) is None
        assert await uow.authorization.take_pushed_request(tid, digest(), T0) is None
        await uow.commit()
    last_moment = request.expires_at - timedelta(microseconds=1)
    async with uow_factory() as uow:  # a rolled-back take leaves the request unused
        assert await uow.authorization.take_pushed_request(tid, request.request_uri_hash, last_moment) == request
    async with uow_factory() as uow:
        assert await uow.authorization.take_pushed_request(tid, request.request_uri_hash, last_moment) == request


# --- sign-in sessions -------------------------------------------------------------------------------------------


def session(
    tenant_id: str, *, state: str | None = "wallet-state", issuer_state: str | None = None
) -> AuthorizationSession:
    request = AuthorizationRequest(
        client_id="wallet",
        redirect_uri="https://wallet.example/cb",
        state=state,
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        configuration_ids=("mdl", "pid"),
        by_authorization_details=True,
        issuer_state=issuer_state,
        forwarded_parameters={"login_hint": "alice@example.com"},
    )
    return AuthorizationSession(
        id=new_id(),
        tenant_id=tenant_id,
        request=request,
        idp_state_hash=digest(),
        idp_nonce=secrets.token_urlsafe(32),
        idp_code_verifier=secrets.token_urlsafe(64),
        expires_at=T0 + timedelta(minutes=10),
        created_at=T0,
        provider_id=new_id(),
        provider_url="https://login.example.com/tenant-ü",
    )


async def test_sessions_are_found_by_state_hash_and_completed_once(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    with_state, without_state = session(tid, issuer_state=new_id()), session(tid, state=None)
    async with uow_factory() as uow:
        await uow.authorization.add_session(with_state)
        await uow.authorization.add_session(without_state)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.authorization.find_session(tid, with_state.idp_state_hash) == with_state
        assert await uow.authorization.find_session(tid, without_state.idp_state_hash) == without_state
        assert await uow.authorization.find_session(other, with_state.idp_state_hash) is None
        assert await uow.authorization.find_session(tid, digest()) is None
    done = T0 + timedelta(seconds=30, microseconds=5)
    async with uow_factory() as uow:
        assert await uow.authorization.complete_session(other, with_state.id, done) is False
        assert await uow.authorization.complete_session(tid, with_state.id, done) is True
        assert await uow.authorization.complete_session(tid, with_state.id, done) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.authorization.complete_session(tid, with_state.id, done) is False
        stored = await uow.authorization.find_session(tid, with_state.idp_state_hash)
        untouched = await uow.authorization.find_session(tid, without_state.idp_state_hash)
    assert stored == dataclasses.replace(with_state, completed_at=done)
    assert_utc(stored.completed_at, stored.expires_at, stored.created_at)
    assert untouched is not None and untouched.completed_at is None


async def test_expired_or_unknown_sessions_are_not_completed(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    item = session(tid)
    async with uow_factory() as uow:
        await uow.authorization.add_session(item)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.authorization.complete_session(tid, item.id, item.expires_at) is False
        assert await uow.authorization.complete_session(tid, new_id(), T0) is False
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.authorization.find_session(tid, item.idp_state_hash)
        assert stored is not None and stored.completed_at is None
        last_moment = item.expires_at - timedelta(microseconds=1)
        assert await uow.authorization.complete_session(tid, item.id, last_moment) is True


# --- authorization codes ----------------------------------------------------------------------------------------


def code(tenant_id: str, **changes: Any) -> AuthorizationCode:
    base = AuthorizationCode(
        code_hash=digest(),
        tenant_id=tenant_id,
        session_id=new_id(),
        client_id="wallet",
        redirect_uri="https://wallet.example/cb",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        configuration_ids=("mdl",),
        by_authorization_details=False,
        user_id=new_id(),
        claims={"given_name": "Ana", "address": {"locality": "Wellington"}, "nicknames": ["a", "b"], "age": 36},
        provider_url="https://idp.example",
        subject_id="subject-1",
        expires_at=T0 + timedelta(seconds=60),
        created_at=T0,
    )
    return dataclasses.replace(base, **changes)


async def test_codes_are_stored_found_and_consumed_once(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    item, details = code(tid), code(tid, by_authorization_details=True, configuration_ids=("mdl", "pid"))
    async with uow_factory() as uow:
        await uow.authorization.add_code(item)
        await uow.authorization.add_code(details)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.authorization.find_code(item.code_hash) == item
        assert await uow.authorization.find_code(details.code_hash) == details
        assert await uow.authorization.find_code(digest()) is None
    used = T0 + timedelta(seconds=1, microseconds=7)
    async with uow_factory() as uow:
        assert await uow.authorization.consume_code(item.code_hash, used) is True
        assert await uow.authorization.consume_code(item.code_hash, used) is False
        assert await uow.authorization.consume_code(digest(), used) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.authorization.consume_code(item.code_hash, used) is False
        stored = await uow.authorization.find_code(item.code_hash)
        other = await uow.authorization.find_code(details.code_hash)
    assert stored == dataclasses.replace(item, consumed_at=used)
    assert_utc(stored.consumed_at, stored.expires_at, stored.created_at)
    assert other is not None and other.consumed_at is None


async def test_an_expired_code_is_still_used_up(uow_factory: Factory) -> None:
    """consume_code does not look at expiry: the token endpoint uses a code up first, then refuses it if expired."""
    tid = await tenant(uow_factory)
    item = code(tid)
    async with uow_factory() as uow:
        await uow.authorization.add_code(item)
        await uow.commit()
    late = item.expires_at + timedelta(hours=1)
    async with uow_factory() as uow:  # a rolled-back consumption leaves the code unused
        assert await uow.authorization.consume_code(item.code_hash, late) is True
    async with uow_factory() as uow:
        assert await uow.authorization.consume_code(item.code_hash, late) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.authorization.consume_code(item.code_hash, late) is False


async def _prune_all(uow_factory: Factory, prune: Callable[[UnitOfWork], Awaitable[int]]) -> None:
    """Run one prune until it deletes less than a batch (other tests' rows in the shared database go too)."""
    while True:
        async with uow_factory() as uow:
            pruned = await prune(uow)
            await uow.commit()
        if pruned < 1000:
            return


async def test_used_or_expired_flow_state_is_pruned(uow_factory: Factory) -> None:
    """Housekeeping's deletes, each bounded by ``limit``: pushed requests used or expired, sessions expired (done
    or not), codes (used or not) expired before the given time; what can still be used stays."""
    tid = await tenant(uow_factory)
    now = T0 + timedelta(days=400)  # after every other test's rows
    later = now + timedelta(seconds=30)
    par_used, par_expired, par_open = (
        pushed_request(tid, expires_at=later),
        pushed_request(tid, expires_at=now),
        pushed_request(tid, expires_at=later),
    )
    done, open_ = (dataclasses.replace(session(tid), expires_at=later, created_at=now) for _ in "ab")
    expired = dataclasses.replace(session(tid), expires_at=now, created_at=now - timedelta(minutes=10))
    replay_window_start = now - timedelta(hours=1)
    old_used, old_unused = (code(tid, expires_at=replay_window_start - timedelta(microseconds=1)) for _ in "ab")
    recent_used = code(tid, expires_at=replay_window_start)
    async with uow_factory() as uow:
        for request in (par_used, par_expired, par_open):
            await uow.authorization.add_pushed_request(request)
        for item in (done, expired, open_):
            await uow.authorization.add_session(item)
        for item in (old_used, old_unused, recent_used):
            await uow.authorization.add_code(item)
        assert await uow.authorization.take_pushed_request(tid, par_used.request_uri_hash, now)
        assert await uow.authorization.complete_session(tid, done.id, now)
        assert await uow.authorization.consume_code(old_used.code_hash, now)
        assert await uow.authorization.consume_code(recent_used.code_hash, now)
        await uow.commit()
    async with uow_factory() as uow:  # bounded
        assert await uow.authorization.prune_pushed_requests(now, limit=1) == 1
        assert await uow.authorization.prune_sessions(now, limit=1) == 1
        assert await uow.authorization.prune_codes(replay_window_start, limit=1) == 1
        await uow.commit()
    await _prune_all(uow_factory, lambda uow: uow.authorization.prune_pushed_requests(now, limit=1000))
    await _prune_all(uow_factory, lambda uow: uow.authorization.prune_sessions(now, limit=1000))
    await _prune_all(uow_factory, lambda uow: uow.authorization.prune_codes(replay_window_start, limit=1000))
    async with uow_factory() as uow:
        assert await uow.authorization.take_pushed_request(tid, par_open.request_uri_hash, now) == par_open
        assert await uow.authorization.find_session(tid, done.idp_state_hash) == dataclasses.replace(
            done, completed_at=now
        )
        assert await uow.authorization.find_session(tid, open_.idp_state_hash) == open_
        assert await uow.authorization.find_session(tid, expired.idp_state_hash) is None
        assert await uow.authorization.find_code(old_used.code_hash) is None
        assert await uow.authorization.find_code(old_unused.code_hash) is None
        kept = await uow.authorization.find_code(recent_used.code_hash)  # a replay can still revoke its tokens
        assert kept == dataclasses.replace(recent_used, consumed_at=now)
        # nothing else of this tenant is left behind
        assert await uow.authorization.take_pushed_request(tid, par_used.request_uri_hash, now) is None
        assert await uow.authorization.take_pushed_request(tid, par_expired.request_uri_hash, T0) is None
        await uow.commit()


async def test_concurrent_units_in_one_process_have_one_winner(uow_factory: Factory) -> None:
    """Units of work racing in one process (more of them than pooled connections): one code consumption, one
    pushed-request take, one provider per tenant and one user per subject win; the losers fail cleanly and fast.
    """
    tid, provider_tenant = await tenant(uow_factory), await tenant(uow_factory)
    item, request = code(tid), pushed_request(tid)
    async with uow_factory() as uow:
        await uow.authorization.add_code(item)
        await uow.authorization.add_pushed_request(request)
        await uow.commit()

    async def consume(uow: UnitOfWork) -> bool:
        return await uow.authorization.consume_code(item.code_hash, T0)

    async def take(uow: UnitOfWork) -> bool:
        return await uow.authorization.take_pushed_request(tid, request.request_uri_hash, T0) is not None

    async def add_provider(uow: UnitOfWork) -> bool:
        await uow.authentication_providers.add(provider(provider_tenant))
        return True

    async def add_user(uow: UnitOfWork) -> bool:
        user = User(id=new_id(), tenant_id=tid, claims={}, created_at=T0, updated_at=T0)
        await uow.users.add(dataclasses.replace(user, authentication_provider_id="p", subject_id="alice"))
        return True

    async def attempt(operation: Callable[[UnitOfWork], Awaitable[bool]]) -> tuple[str, bool]:
        async with uow_factory() as uow:
            try:
                won = await operation(uow)
            except ConflictError:
                won = False
            await uow.commit()
            return operation.__name__, won

    operations = [consume, take, add_provider, add_user]
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(*(attempt(operation) for operation in operations for _ in range(6)))
    elapsed = loop.time() - started
    wins = {op.__name__: sum(won for name, won in results if name == op.__name__) for op in operations}
    assert wins == {"consume": 1, "take": 1, "add_provider": 1, "add_user": 1}
    assert elapsed < 5, f"the race took {elapsed:.1f} s: a unit of work waited for a lock"


# --- access grants ----------------------------------------------------------------------------------------------


def grant(tenant_id: str, user_id: str, **changes: Any) -> AccessGrant:
    base = AccessGrant(
        token_hash=digest(),
        tenant_id=tenant_id,
        user_id=user_id,
        credential_configuration_ids=("mdl", "pid"),
        credential_identifiers={"id-1": "mdl", "id-2": "pid"},
        notification_id=secrets.token_urlsafe(16),
        claims={"given_name": "Ana", "address": {"locality": "Wellington"}},
        expires_at=T0 + timedelta(minutes=5),
        created_at=T0,
    )
    return dataclasses.replace(base, **changes)


async def test_access_grants_read_back_with_the_users_claims(uow_factory: Factory, wallet_store: WalletStore) -> None:
    tid = await tenant(uow_factory)
    user = User(
        id=new_id(),
        tenant_id=tid,
        claims={"family_name": "Ngata", "licence": {"number": "DL-1"}},
        created_at=T0,
        updated_at=T0,
        authentication_provider_id=new_id(),
        subject_id="alice",
    )
    from_code = grant(
        tid,
        user.id,
        authorization_code_hash=digest(),
        provider_url="https://idp.example",
        subject_id="alice",
    )
    from_offer = grant(tid, new_id(), offer_id=new_id(), credential_identifiers={}, claims={})  # no user stored
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.access_grants.add(from_code)
        await uow.access_grants.add(from_offer)
        await uow.commit()
    context = await wallet_store.load_grant(tid, from_code.token_hash)
    offer_context = await wallet_store.load_grant(tid, from_offer.token_hash)
    assert await wallet_store.load_grant(tid, digest()) is None
    assert context is not None and context.grant == dataclasses.replace(from_code, user_claims=user.claims)
    assert context.user_claims == user.claims
    assert isinstance(context.grant.credential_configuration_ids, tuple)
    assert_utc(context.grant.expires_at, context.grant.created_at)
    assert offer_context is not None and offer_context.grant == from_offer and offer_context.user_claims == {}
    # The grant keeps the user's claims as they were when it was made: every credential it obtains, of every
    # format, is mapped from the same claims, whatever happens to the user meanwhile.
    async with uow_factory() as uow:
        assert await uow.users.update_claims(tid, user.id, {"family_name": "Changed"}, T0) is True
        await uow.commit()
    again = await wallet_store.load_grant(tid, from_code.token_hash)
    assert again is not None and again.user_claims == user.claims


async def test_an_access_grant_never_takes_the_claims_of_another_tenants_user(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    """The user is read by its primary key alone (plan-safe, test_wallet_store_plans.py); its tenant still counts."""
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    stranger = User(id=new_id(), tenant_id=other, claims={"family_name": "Other"}, created_at=T0, updated_at=T0)
    from_code = grant(tid, stranger.id, authorization_code_hash=digest(), subject_id="alice")
    async with uow_factory() as uow:
        await uow.users.add(stranger)
        await uow.access_grants.add(from_code)
        await uow.commit()
    context = await wallet_store.load_grant(tid, from_code.token_hash)
    assert context is not None and context.grant.user_claims is None and context.user_claims == {}
    assert await wallet_store.load_grant(other, from_code.token_hash) is None


async def test_revoke_for_code_revokes_every_grant_of_that_code(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    tid = await tenant(uow_factory)
    replayed, other_code = digest(), digest()
    of_replayed = [grant(tid, new_id(), authorization_code_hash=replayed) for _ in range(2)]
    of_other = grant(tid, new_id(), authorization_code_hash=other_code)
    pre_authorized = grant(tid, new_id(), offer_id=new_id())
    async with uow_factory() as uow:
        for item in (*of_replayed, of_other, pre_authorized):
            await uow.access_grants.add(item)
        await uow.commit()
    revoked_at = T0 + timedelta(seconds=2, microseconds=3)
    async with uow_factory() as uow:
        assert await uow.access_grants.revoke_for_code(replayed, revoked_at) == 2
        assert await uow.access_grants.revoke_for_code(digest(), revoked_at) == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.access_grants.revoke_for_code(replayed, T0 + timedelta(hours=1)) == 0  # already revoked
        await uow.commit()
    contexts = [await wallet_store.load_grant(tid, g.token_hash) for g in (*of_replayed, of_other, pre_authorized)]
    assert [c.grant.revoked_at if c else "missing" for c in contexts] == [revoked_at, revoked_at, None, None]
    assert contexts[0] is not None and contexts[0].grant == dataclasses.replace(of_replayed[0], revoked_at=revoked_at)
    assert_utc(contexts[0].grant.revoked_at)


# --- races between processes ------------------------------------------------------------------------------------

SQL_BACKENDS = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.mark.slow
@SQL_BACKENDS
async def test_single_use_items_have_one_winner_across_processes(database_url: str, uow_factory: Factory) -> None:
    """3 processes x 4 connections race for each of 4 items per kind: each item is used once, by one of 12 tries."""
    from oi_race import racing_processes

    tid = await tenant(uow_factory)
    provider_tenants = [await tenant(uow_factory) for _ in range(4)]
    codes = [code(tid) for _ in range(4)]
    requests = [pushed_request(tid) for _ in range(4)]
    sessions = [session(tid) for _ in range(4)]
    async with uow_factory() as uow:
        for c, r, s in zip(codes, requests, sessions, strict=True):
            await uow.authorization.add_code(c)
            await uow.authorization.add_pushed_request(r)
            await uow.authorization.add_session(s)
        await uow.commit()
    rounds = {
        "consume_code": [c.code_hash.hex() for c in codes],
        "take_pushed_request": [r.request_uri_hash.hex() for r in requests],
        "complete_session": [s.id for s in sessions],
        "add_provider": provider_tenants,
        "add_user": [f"subject-{i}" for i in range(4)],
    }
    now = T0 + timedelta(seconds=1)
    with racing_processes(database_url, processes=3, tasks=4) as racers:
        assert racers.processes * racers.tasks == 12
        wins = {operation: racers.race(operation, tid, keys, now) for operation, keys in rounds.items()}
    assert wins == {operation: dict.fromkeys(keys, 1) for operation, keys in rounds.items()}
    async with uow_factory(read_only=True) as uow:  # the winners' changes are committed
        for c, s in zip(codes, sessions, strict=True):
            assert (await uow.authorization.find_code(c.code_hash)) == dataclasses.replace(c, consumed_at=now)
            stored = await uow.authorization.find_session(tid, s.idp_state_hash)
            assert stored is not None and stored.completed_at == now
        for t in provider_tenants:
            assert await uow.authentication_providers.get_for_tenant(t) is not None
        for subject in rounds["add_user"]:
            assert await uow.users.find_by_subject(tid, "provider", subject) is not None
