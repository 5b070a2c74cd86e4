"""The wallet store's contract (the hot path's driver-level statements) on memory, SQLite and PostgreSQL.

Each store sees the rows the units of work write and the other way round: they share one database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from openissuer.domain.authorization import AuthorizationCode
from openissuer.domain.ids import new_id
from openissuer.domain.issued import IssuedCredentialRecord, StatusReference
from openissuer.domain.offers import AccessGrant, PreAuthorizedOffer
from openissuer.domain.tenants import Tenant
from openissuer.domain.users import User
from openissuer.ports.uow import UnitOfWork
from openissuer.ports.wallet_store import IssuanceWrite, IssuanceWriteOutcome, NewGrant, WalletStore

T0 = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)
Factory = Callable[..., UnitOfWork]


async def tenant(uow_factory: Factory) -> str:
    t = Tenant(id=new_id(), name="t", created_at=T0)
    async with uow_factory() as uow:
        await uow.tenants.add(t)
        await uow.commit()
    return t.id


def offer(tenant_id: str, *, tx: bool = False, configurations: tuple[str, ...] = ("c1", "c2")) -> PreAuthorizedOffer:
    return PreAuthorizedOffer(
        id=new_id(),
        tenant_id=tenant_id,
        user_id=new_id(),
        credential_configuration_ids=configurations,
        claims={"a": 1, "nested": {"b": [1, "x"]}},
        code_hash=new_id().encode()[:32].ljust(32, b"x"),
        sealed_code=b"sealed",
        by_reference=False,
        expires_at=T0 + timedelta(minutes=5),
        created_at=T0,
        tx_code_hash=b"t" * 32 if tx else None,
    )


def new_grant(requested: tuple[str, ...] | None = None) -> NewGrant:
    identifiers = {} if requested is None else {f"id-{cid}": cid for cid in requested}
    return NewGrant(
        token_hash=new_id().encode()[:32].ljust(32, b"g"),
        notification_id=new_id(),
        credential_identifiers=identifiers,
        requested=requested,
        expires_at=T0 + timedelta(minutes=5),
        created_at=T0,
    )


async def added(uow_factory: Factory, *offers: PreAuthorizedOffer) -> None:
    async with uow_factory() as uow:
        for item in offers:
            await uow.offers.add(item)
        await uow.commit()


async def test_a_code_is_redeemed_once_with_its_grant(uow_factory: Factory, wallet_store: WalletStore) -> None:
    tid = await tenant(uow_factory)
    plain, with_tx = offer(tid), offer(tid, tx=True)
    await added(uow_factory, plain, with_tx)
    grant = new_grant()
    redeemed = await wallet_store.redeem_code(tid, plain.code_hash, T0, grant)
    assert redeemed == plain.id
    assert await wallet_store.redeem_code(tid, plain.code_hash, T0, new_grant()) is None
    assert await wallet_store.redeem_code(tid, with_tx.code_hash, T0, new_grant()) is None  # needs its tx code
    stored = await wallet_store.find_offer_by_code(tid, plain.code_hash)
    assert stored is not None and stored.redeemed_at == T0 and stored.sealed_code is None
    assert stored.claims == plain.claims  # kept once, with the offer; the grant reads them (below)
    state = await wallet_store.load_grant(tid, grant.token_hash)
    assert state is not None
    assert state.grant == AccessGrant(
        token_hash=grant.token_hash,
        tenant_id=tid,
        user_id=plain.user_id,
        credential_configuration_ids=plain.credential_configuration_ids,
        credential_identifiers={},
        notification_id=grant.notification_id,
        claims=plain.claims,
        expires_at=grant.expires_at,
        created_at=T0,
        offer_id=plain.id,
    )
    async with uow_factory(read_only=True) as uow:  # the management side sees the redemption
        seen = await uow.offers.get(tid, plain.id)
    assert seen is not None and seen.redeemed_at == T0


async def test_redemption_respects_tenant_expiry_revocation_and_authorization_details(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    item, revoked = offer(tid), offer(tid)
    await added(uow_factory, item, revoked)
    async with uow_factory() as uow:
        await uow.offers.revoke(tid, revoked.id, T0)
        await uow.commit()
    assert await wallet_store.redeem_code(other, item.code_hash, T0, new_grant()) is None
    assert await wallet_store.redeem_code(tid, item.code_hash, T0 + timedelta(minutes=5), new_grant()) is None
    assert await wallet_store.redeem_code(tid, revoked.code_hash, T0, new_grant()) is None
    assert await wallet_store.redeem_code(tid, item.code_hash, T0, new_grant(("c1", "c3"))) is None  # c3 not offered
    assert await wallet_store.find_offer_by_code(other, item.code_hash) is None
    still = await wallet_store.find_offer_by_code(tid, item.code_hash)
    assert still is not None and still.redeemed_at is None  # nothing happened
    grant = new_grant(("c2",))
    assert await wallet_store.redeem_code(tid, item.code_hash, T0, grant) is not None
    state = await wallet_store.load_grant(tid, grant.token_hash)
    assert state is not None and state.grant.credential_identifiers == {"id-c2": "c2"}
    assert await wallet_store.load_grant(other, grant.token_hash) is None


async def test_transaction_codes_lock_and_redemption_by_id(uow_factory: Factory, wallet_store: WalletStore) -> None:
    tid = await tenant(uow_factory)
    locked, good = offer(tid, tx=True), offer(tid, tx=True)
    await added(uow_factory, locked, good)
    assert [await wallet_store.record_failed_tx_code(tid, locked.id, 3) for _ in range(3)] == [1, 2, 3]
    stored = await wallet_store.get_offer(tid, locked.id)
    assert stored is not None and stored.locked and stored.tx_attempts == 3
    assert await wallet_store.redeem_offer(tid, locked.id, T0, new_grant()) is False
    assert await wallet_store.record_failed_tx_code(tid, "unknown", 3) == 0
    grant = new_grant()
    assert await wallet_store.redeem_offer(tid, good.id, T0, new_grant(("c9",))) is False
    assert await wallet_store.redeem_offer(tid, good.id, T0, grant) is True
    assert await wallet_store.redeem_offer(tid, good.id, T0, new_grant()) is False
    assert await wallet_store.load_grant(tid, grant.token_hash) is not None


def record(tenant_id: str, offer_id: str | None, *, status: bool = False) -> IssuedCredentialRecord:
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
        signer_id="s",
        holder_key_thumbprint="k" * 43,
        status_reference=StatusReference(new_id(), 7) if status else None,
        details={"docType": "org.example", "namespaces": {"ns": {"a": {"digestID": 1, "digest": "d"}}}},
    )


async def test_issuance_writes_everything_or_nothing_but_the_nonces(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    tid = await tenant(uow_factory)
    item = offer(tid)
    user = User(id=item.user_id, tenant_id=tid, claims={"persisted": True}, created_at=T0, updated_at=T0)
    await added(uow_factory, item)
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    grant = new_grant()
    await wallet_store.redeem_code(tid, item.code_hash, T0, grant)
    n1, n2, n3 = (new_id().encode()[:32] for _ in range(3))

    def write(nonces: tuple[bytes, ...], count: int, bound: int = 3) -> IssuanceWrite:
        return IssuanceWrite(
            tenant_id=tid,
            token_hash=grant.token_hash,
            configuration_id="c1",
            bound=bound,
            nonce_hashes=nonces,
            nonces_expire_at=T0 + timedelta(minutes=5),
            records=tuple(record(tid, item.id, status=i == 0) for i in range(count)),
            offer_id=item.id,
            now=T0 + timedelta(seconds=1),
        )

    first = write((n1,), 2)
    assert await wallet_store.commit_issuance(first) is IssuanceWriteOutcome.RECORDED
    state = await wallet_store.load_grant(tid, grant.token_hash, [n1, n2])
    assert state is not None
    assert (state.issued, state.used_nonces, state.user_claims) == ({"c1": 2}, frozenset({n1}), {"persisted": True})
    assert await wallet_store.commit_issuance(write((n1,), 1)) is IssuanceWriteOutcome.NONCE_USED
    assert await wallet_store.commit_issuance(write((n2,), 2)) is IssuanceWriteOutcome.BOUND_REACHED  # 2 + 2 > 3
    # the nonce of a refused write is used up all the same; the records and counts are not written
    state = await wallet_store.load_grant(tid, grant.token_hash, [n2, n3])
    assert state is not None and state.issued == {"c1": 2} and state.used_nonces == frozenset({n2})
    assert await wallet_store.commit_issuance(write((n3,), 1)) is IssuanceWriteOutcome.RECORDED
    async with uow_factory(read_only=True) as uow:
        records = (await uow.issued_credentials.list(tid, limit=10, after=None)).items
        claimed = await uow.offers.get(tid, item.id)
    assert len(records) == 3
    assert {r.id for r in records} >= {r.id for r in first.records}
    stored_first = next(r for r in records if r.id == first.records[0].id)
    assert stored_first == first.records[0]
    assert claimed is not None and claimed.claimed_at == T0 + timedelta(seconds=1)


async def test_nonces_are_used_up_and_forgotten_after_expiry(uow_factory: Factory, wallet_store: WalletStore) -> None:
    tid = await tenant(uow_factory)
    grant = new_grant()
    await added(uow_factory, item := offer(tid))
    await wallet_store.redeem_code(tid, item.code_hash, T0, grant)
    old, young = new_id().encode()[:32], new_id().encode()[:32]
    await wallet_store.use_nonces([old], T0)
    await wallet_store.use_nonces([young, young], T0 + timedelta(hours=1))
    await wallet_store.use_nonces([], T0)
    state = await wallet_store.load_grant(tid, grant.token_hash, [old, young])
    assert state is not None and state.used_nonces == frozenset({old, young})
    assert await wallet_store.purge_used_nonces(T0 + timedelta(minutes=1)) >= 1
    state = await wallet_store.load_grant(tid, grant.token_hash, [old, young])
    assert state is not None and state.used_nonces == frozenset({young})


async def test_the_configuration_version_and_offers_by_id(uow_factory: Factory, wallet_store: WalletStore) -> None:
    tid = await tenant(uow_factory)
    assert await wallet_store.config_version(tid) == 0
    assert await wallet_store.config_version(new_id()) is None
    item = offer(tid)
    await added(uow_factory, item)
    assert await wallet_store.get_offer(tid, item.id) == item
    assert await wallet_store.get_offer(await tenant(uow_factory), item.id) is None


async def test_a_grant_revoked_on_the_management_side_reads_revoked(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    tid = await tenant(uow_factory)
    code_hash = new_id().encode()[:32]
    grant = AccessGrant(
        token_hash=new_id().encode()[:32],
        tenant_id=tid,
        user_id="u",
        credential_configuration_ids=("c1",),
        credential_identifiers={},
        notification_id="n",
        claims={},
        expires_at=T0 + timedelta(minutes=5),
        created_at=T0,
        authorization_code_hash=code_hash,
        provider_url="https://idp.example",
        subject_id="sub",
    )
    async with uow_factory() as uow:
        await uow.access_grants.add(grant)
        assert await uow.access_grants.revoke_for_code(code_hash, T0) == 1
        await uow.commit()
    state = await wallet_store.load_grant(tid, grant.token_hash)
    assert state is not None and state.grant == dataclasses.replace(grant, revoked_at=T0) and state.user_claims == {}


# --- races between processes ------------------------------------------------------------------------------------

SQL_BACKENDS = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.mark.slow
@SQL_BACKENDS
async def test_single_use_guarantees_hold_across_processes(
    database_url: str, uow_factory: Factory, wallet_store: WalletStore
) -> None:
    """3 processes x 4 connections race: a pre-authorized code is redeemed once, a transaction code locks its offer
    exactly once, a nonce is used once, a DPoP / attestation proof id or challenge is used once (in a redemption, at
    the credential endpoint and on its own), a grant's bound holds, and a replayed authorization code revokes the
    grant its first use made."""
    from oi_race import racing_processes

    tid = await tenant(uow_factory)
    codes = [offer(tid) for _ in range(4)]
    with_tx = [offer(tid, tx=True) for _ in range(4)]
    await added(uow_factory, *codes, *with_tx)
    grants = [new_grant() for _ in range(8)]
    for grant, item in zip(grants, [offer(tid) for _ in range(8)], strict=True):
        await added(uow_factory, item)
        assert await wallet_store.redeem_code(tid, item.code_hash, T0, grant) is not None
    authorization_codes = [new_id().encode()[:32] for _ in range(4)]
    async with uow_factory() as uow:
        for code_hash in authorization_codes:
            await uow.authorization.add_code(_authorization_code(tid, code_hash))
        await uow.commit()
    nonce_keys = [f"{g.token_hash.hex()}:{new_id().encode()[:32].hex()}" for g in grants[:4]]
    bound_codes = [offer(tid) for _ in range(4)]
    await added(uow_factory, *bound_codes)
    rounds = {
        "redeem_code": [o.code_hash.hex() for o in codes],
        # a DPoP proof id presented by every try: in a redemption, at the credential endpoint, and on its own
        "redeem_with_proof_id": [f"{o.code_hash.hex()}:{new_id().encode()[:32].hex()}" for o in bound_codes],
        "commit_with_proof_id": [f"{g.token_hash.hex()}:{new_id().encode()[:32].hex()}" for g in grants[:4]],
        "use_once": [new_id().encode()[:32].hex() for _ in range(4)],
        "failed_tx_code": [o.id for o in with_tx],
        "use_nonce": nonce_keys,
        "within_bound": [g.token_hash.hex() for g in grants[4:]],
        "exchange_authorization_code": [c.hex() for c in authorization_codes],
    }
    now = T0 + timedelta(seconds=1)
    with racing_processes(database_url, processes=3, tasks=4) as racers:
        wins = {operation: racers.race(operation, tid, keys, now) for operation, keys in rounds.items()}
    assert wins == {operation: dict.fromkeys(keys, 1) for operation, keys in rounds.items()}
    for item in with_tx:
        stored = await wallet_store.get_offer(tid, item.id)
        assert stored is not None and stored.locked and stored.tx_attempts == 12
    for grant in grants[4:]:
        state = await wallet_store.load_grant(tid, grant.token_hash)
        assert state is not None and state.issued == {"mdl": 1}
    async with uow_factory(read_only=True) as uow:
        for code_hash in authorization_codes:  # the first use's grant was revoked by the replays that followed it
            assert await uow.access_grants.revoke_for_code(code_hash, now) == 0


def _authorization_code(tenant_id: str, code_hash: bytes) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=code_hash,
        tenant_id=tenant_id,
        session_id=new_id(),
        client_id="wallet",
        redirect_uri="https://wallet.example/cb",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        configuration_ids=("mdl",),
        by_authorization_details=False,
        user_id="u",
        claims={},
        provider_url="https://idp.example",
        subject_id="s",
        expires_at=T0 + timedelta(minutes=1),
        created_at=T0,
    )


async def test_a_redeemed_grant_keeps_the_users_claims_as_they_were(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    """Every credential of one grant (of every format in a multi-format offer) is mapped from the same claims."""
    tid = await tenant(uow_factory)
    user = User(id=new_id(), tenant_id=tid, claims={"family_name": "Ngata"}, created_at=T0, updated_at=T0)
    by_code, by_id = (dataclasses.replace(offer(tid, tx=tx), user_id=user.id) for tx in (False, True))
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    await added(uow_factory, by_code, by_id)
    first, second = new_grant(), new_grant()
    assert await wallet_store.redeem_code(tid, by_code.code_hash, T0, first) is not None
    assert await wallet_store.redeem_offer(tid, by_id.id, T0, second) is True
    async with uow_factory() as uow:
        assert await uow.users.update_claims(tid, user.id, {"family_name": "Changed"}, T0) is True
        await uow.commit()
    for grant in (first, second):
        state = await wallet_store.load_grant(tid, grant.token_hash)
        assert state is not None and state.user_claims == {"family_name": "Ngata"}
        assert state.grant.user_claims == {"family_name": "Ngata"} and state.grant.claims == by_code.claims


async def test_a_grant_never_takes_the_claims_of_another_tenants_user(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    """The user is read by its primary key alone (plan-safe, test_wallet_store_plans.py); its tenant still counts."""
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    stranger = User(id=new_id(), tenant_id=other, claims={"family_name": "Other"}, created_at=T0, updated_at=T0)
    async with uow_factory() as uow:
        await uow.users.add(stranger)
        await uow.commit()
    by_code, by_id = (dataclasses.replace(offer(tid, tx=tx), user_id=stranger.id) for tx in (False, True))
    await added(uow_factory, by_code, by_id)
    first, second = new_grant(), new_grant()
    assert await wallet_store.redeem_code(tid, by_code.code_hash, T0, first) is not None
    assert await wallet_store.redeem_offer(tid, by_id.id, T0, second) is True
    for grant in (first, second):
        state = await wallet_store.load_grant(tid, grant.token_hash)
        assert state is not None and state.user_claims == {} and state.grant.user_claims is None


async def test_a_redemption_with_single_use_values_binds_the_grant_and_refuses_a_replay(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    """DPoP and attestation proofs: their ids are used up in the redemption's own statement; a taken one stops it."""
    from openissuer.ports.wallet_store import SingleUseTaken

    tid = await tenant(uow_factory)
    first, second, third = offer(tid), offer(tid), offer(tid, tx=True)
    await added(uow_factory, first, second, third)
    jti, pop = new_id().encode()[:32], new_id().encode()[:32]
    expire_at = T0 + timedelta(minutes=5)
    grant = dataclasses.replace(
        new_grant(), client_id="wallet", dpop_jkt="jkt-1", single_use=(jti, pop), single_use_expire_at=expire_at
    )
    assert await wallet_store.redeem_code(tid, first.code_hash, T0, grant) is not None
    state = await wallet_store.load_grant(tid, grant.token_hash)
    assert state is not None and (state.grant.client_id, state.grant.dpop_jkt) == ("wallet", "jkt-1")
    replay = dataclasses.replace(new_grant(), dpop_jkt="jkt-1", single_use=(new_id().encode()[:32], jti))
    with pytest.raises(SingleUseTaken) as taken:
        await wallet_store.redeem_code(tid, second.code_hash, T0, replay)
    assert taken.value.taken == frozenset({jti})
    stored = await wallet_store.get_offer(tid, second.id)
    assert stored is not None and stored.redeemed_at is None  # nothing redeemed
    with pytest.raises(SingleUseTaken):  # the fresh value of the refused request was used up all the same
        await wallet_store.redeem_offer(
            tid, second.id, T0, dataclasses.replace(new_grant(), single_use=replay.single_use[:1])
        )
    plain = new_grant()
    assert await wallet_store.redeem_code(tid, second.code_hash, T0, plain) is not None
    state = await wallet_store.load_grant(tid, plain.token_hash)
    assert state is not None and (state.grant.client_id, state.grant.dpop_jkt) == (None, None)
    bound = dataclasses.replace(new_grant(), client_id="c", single_use=(new_id().encode()[:32],))
    assert await wallet_store.redeem_offer(tid, third.id, T0, bound)
    assert (await wallet_store.use_once([jti, b"x" * 32], expire_at)) == frozenset({jti})
    assert (await wallet_store.use_once([b"x" * 32], expire_at)) == frozenset({b"x" * 32})


async def test_single_use_values_stay_used_when_the_offer_does_not_cover_the_request(
    uow_factory: Factory, wallet_store: WalletStore
) -> None:
    """The port: single-use values are used up first, whatever happens after. A token request whose
    authorization_details the offer does not cover redeems nothing, and its proof ids cannot be used again."""
    tid = await tenant(uow_factory)
    item = offer(tid)
    await added(uow_factory, item)
    jti = new_id().encode()[:32]
    expire_at = T0 + timedelta(minutes=5)
    uncovered = dataclasses.replace(new_grant(("c1", "c3")), single_use=(jti,), single_use_expire_at=expire_at)
    assert await wallet_store.redeem_code(tid, item.code_hash, T0, uncovered) is None
    by_id = dataclasses.replace(
        new_grant(("c3",)), single_use=(new_id().encode()[:32],), single_use_expire_at=expire_at
    )
    assert await wallet_store.redeem_offer(tid, item.id, T0, by_id) is False
    assert await wallet_store.use_once([jti, *by_id.single_use], expire_at) == frozenset({jti, *by_id.single_use})
    stored = await wallet_store.get_offer(tid, item.id)
    assert stored is not None and stored.redeemed_at is None and stored.sealed_code == item.sealed_code


async def test_a_dpop_proof_id_is_used_up_with_the_nonces(uow_factory: Factory, wallet_store: WalletStore) -> None:
    tid = await tenant(uow_factory)
    item = offer(tid)
    await added(uow_factory, item)
    grant = new_grant()
    await wallet_store.redeem_code(tid, item.code_hash, T0, grant)
    jti = new_id().encode()[:32]

    def write(nonce: bytes) -> IssuanceWrite:
        return IssuanceWrite(
            tenant_id=tid,
            token_hash=grant.token_hash,
            configuration_id="c1",
            bound=5,
            nonce_hashes=(nonce,),
            nonces_expire_at=T0 + timedelta(minutes=5),
            records=(record(tid, item.id),),
            offer_id=item.id,
            now=T0,
            proof_ids=(jti,),
        )

    n1, n2 = new_id().encode()[:32], new_id().encode()[:32]
    assert await wallet_store.commit_issuance(write(n1)) is IssuanceWriteOutcome.RECORDED
    assert await wallet_store.commit_issuance(write(n2)) is IssuanceWriteOutcome.PROOF_REPLAYED
    state = await wallet_store.load_grant(tid, grant.token_hash, [n2, jti])
    assert state is not None and state.issued == {"c1": 1} and state.used_nonces == frozenset({n2, jti})


async def test_writes_of_the_same_values_in_opposite_orders_never_deadlock(wallet_store: WalletStore) -> None:
    """Two requests (or two workers' rate-counter flushes) that use the same values, listed in opposite orders, at
    once: on PostgreSQL each statement locks rows as it goes, and unsorted they could each wait for the other (a
    deadlock, broken by failing one of them: a 500). Every call completes, and each value is used exactly once."""
    import asyncio
    import os

    expire_at = T0 + timedelta(days=3650)
    for size, rounds in ((2, 30), (50, 10)):
        for _ in range(rounds):
            values = [os.urandom(32) for _ in range(size)]
            first, second = await asyncio.gather(
                wallet_store.use_once(values, expire_at), wallet_store.use_once(values[::-1], expire_at)
            )
            assert first | second == frozenset(values) and not first & second
            values = [os.urandom(32) for _ in range(size)]
            await asyncio.gather(
                wallet_store.use_nonces(values, expire_at), wallet_store.use_nonces(values[::-1], expire_at)
            )
            assert await wallet_store.use_once(values, expire_at) == frozenset(values)
    keys = [(os.urandom(32), 0, 1) for _ in range(200)]
    for _ in range(10):
        totals = await asyncio.gather(
            wallet_store.count_requests(keys, expire_at, T0), wallet_store.count_requests(keys[::-1], expire_at, T0)
        )
        assert all(len(total) == len(keys) for total in totals)
    final = await wallet_store.count_requests(keys[:1], expire_at, T0)
    assert list(final.values()) == [21]
