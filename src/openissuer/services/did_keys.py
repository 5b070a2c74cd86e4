"""The keys of each tenant's ``did:web`` DID document: the signers of its CWTs (``SignerKind.DID_WEB``).

A tenant's first CWT creates its first key. A key signs new credentials while it is younger than the rotation age
and its ``not_after`` covers the credential's expiry; otherwise a new key is made, with ``not_after`` far enough
for the configured validity and for this credential. The DID document publishes every key whose ``not_after`` is
still ahead, so every credential a key signed stays verifiable until it expires (a credential without ``exp`` keeps
its key published for good). Keys are sealed in the ``KeyStore``; the rows are cached per tenant configuration
version (adding a key raises it). Two processes may create a key at the same moment; both are published, and the
newest signs from then on. In one process, one creation at a time per tenant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from openissuer.crypto.jwk import compute_jwk_thumbprint
from openissuer.crypto.signer import Signer
from openissuer.domain.dids import FAR_FUTURE, KEY_ID_LENGTH, DidKey, create_did_document, create_did_web
from openissuer.domain.ids import new_id
from openissuer.errors import CredentialRequestDeniedError
from openissuer.ports.clock import Clock
from openissuer.ports.keys import KeyStore
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.ports.wallet_store import WalletStore
from openissuer.services.signing import SelectedSigner
from openissuer.services.tenancy import TenantDirectory, WalletTenant
from openissuer.services.versioned_cache import Versioned, VersionedCache

_CREATE_ATTEMPTS = 3


def did_key_aad(key_id: str) -> bytes:
    """The associated data binding a sealed DID key to its row."""
    return f"openissuer/did-key/{key_id}".encode()


class DidKeySigner:
    """A ``Signer`` whose ``kid`` is the DID URL of its verification method (``<did>#<kid>``)."""

    __slots__ = ("_kid", "_signer")

    def __init__(self, signer: Signer, kid: str) -> None:
        self._signer = signer
        self._kid = kid

    @property
    def alg(self) -> str:
        """The algorithm of the key (ES256)."""
        return self._signer.alg

    @property
    def kid(self) -> str:
        """``<did>#<kid>``."""
        return self._kid

    @property
    def public_jwk(self) -> dict[str, str]:
        """The public key."""
        return self._signer.public_jwk

    @property
    def x5c(self) -> list[bytes]:
        """None: a DID key has no certificate."""
        return []

    def sign(self, data: bytes) -> bytes:
        """Sign with the key."""
        return self._signer.sign(data)

    def __repr__(self) -> str:
        return f"DidKeySigner(kid={self._kid!r})"


@dataclass(frozen=True)
class TenantDidKeys:
    """A tenant's DID keys, newest first."""

    keys: tuple[DidKey, ...]

    def with_key(self, key: DidKey) -> TenantDidKeys:
        """Return these keys with a new one first."""
        return TenantDidKeys((key, *self.keys))


class DidKeyService:
    """Select, create and publish the keys of tenants' DID documents; implements ``CredentialSigners``."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: WalletStore,
        clock: Clock,
        keys: KeyStore,
        tenants: TenantDirectory,
        *,
        validity: timedelta = timedelta(days=1827),
        rotation_age: timedelta = timedelta(days=90),
        make_id: Callable[[], str] = new_id,
    ) -> None:
        self._uow = uow_factory
        self._store = store
        self._clock = clock
        self._keys = keys
        self._tenants = tenants
        self._validity = validity
        self._rotation_age = rotation_age
        self._make_id = make_id
        self._cache: VersionedCache[TenantDidKeys] = VersionedCache(self._load)
        self._creating: dict[str, asyncio.Lock] = {}

    async def signer_for(self, tenant_id: str, version: int, valid_until: datetime) -> SelectedSigner:
        """Return a key of the tenant that may sign a credential valid until ``valid_until``, creating one when
        none may."""
        did = create_did_web((await self._tenants.by_id(tenant_id)).issuer)
        found = self._usable(await self._cache.get(tenant_id, version), valid_until)
        if found is None:
            async with self._creating.setdefault(tenant_id, asyncio.Lock()):
                current = await self._cache.get(tenant_id, version)
                found = self._usable(current, valid_until)
                if found is None:
                    found = await self._create(tenant_id, valid_until)
                    self._cache.put(tenant_id, Versioned(version, current.with_key(found)))
        signer = self._keys.load(found.sealed_private_key, aad=did_key_aad(found.id))
        return SelectedSigner(signer_id=found.id, signer=DidKeySigner(signer, f"{did}#{found.kid}"))

    async def current_signer(self, tenant_id: str, valid_until: datetime) -> SelectedSigner:
        """``signer_for`` at the tenant's current configuration version (the direct APIs; one small read)."""
        return await self.signer_for(tenant_id, await self._version(tenant_id), valid_until)

    async def published_keys(self, tenant_id: str) -> tuple[DidKey, ...]:
        """Return the keys the DID document lists: those whose ``not_after`` is ahead, newest first."""
        now = self._clock.now()
        cached = await self._cache.get(tenant_id, await self._version(tenant_id))
        return tuple(key for key in cached.keys if key.not_after > now)

    async def document(self, tenant: WalletTenant) -> dict[str, Any]:
        """Return the tenant's DID document."""
        return create_did_document(create_did_web(tenant.issuer), list(await self.published_keys(tenant.id)))

    async def _version(self, tenant_id: str) -> int:
        return await self._store.config_version(tenant_id) or 0

    async def _load(self, tenant_id: str) -> Versioned[TenantDidKeys]:
        async with self._uow(read_only=True) as uow:
            version = await uow.tenants.get_config_version(tenant_id)  # before the data: see VersionedCache
            keys = tuple(await uow.did_keys.list(tenant_id))
        return Versioned(version or 0, TenantDidKeys(keys))

    def _usable(self, keys: TenantDidKeys, valid_until: datetime) -> DidKey | None:
        now = self._clock.now()
        for key in keys.keys:
            if key.created_at <= now and now - key.created_at < self._rotation_age and valid_until <= key.not_after:
                return key
        return None

    async def _create(self, tenant_id: str, valid_until: datetime) -> DidKey:
        now = self._clock.now()
        if valid_until >= FAR_FUTURE - self._rotation_age:
            not_after = FAR_FUTURE
        else:
            not_after = min(FAR_FUTURE, max(now + self._validity, valid_until + self._rotation_age))
        for _ in range(_CREATE_ATTEMPTS):
            id = self._make_id()
            signer, sealed = self._keys.generate(aad=did_key_aad(id))
            public_jwk = signer.public_jwk
            key = DidKey(
                id=id,
                tenant_id=tenant_id,
                kid=compute_jwk_thumbprint(public_jwk)[:KEY_ID_LENGTH],
                public_jwk=public_jwk,
                sealed_private_key=sealed,
                created_at=now,
                not_after=not_after,
            )
            async with self._uow() as uow:
                added = await uow.did_keys.add(key)
                await uow.commit()
            if added:
                return key
        raise CredentialRequestDeniedError(  # pragma: no cover - three 48-bit kid collisions in a row
            "The issuer cannot sign this credential now", detail=f"tenant {tenant_id}: no free DID key id"
        )
