"""Each tenant's Ed25519 webhook signing keys: made on first use, rotated by age, published at
``GET /v1/webhooks/jwks`` (reference §11.2: ``{keys: [{kty: OKP, crv: Ed25519, x, use: sig, kid}]}``).

Deliveries are signed with the newest key; a key older than the rotation age is replaced by a new one when the
next delivery is signed. The replaced key stays published for the overlap period (receivers that cached the JWK Set
keep verifying deliveries signed just before the rotation) and is deleted after it. Keys are stored sealed under
the master key; each process keeps the unsealed newest key for a minute at most, then reads again, so a key made
by another process is used everywhere soon after.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from openissuer.crypto.signer import Signer
from openissuer.domain.events import WEBHOOK_KEY_CREATED
from openissuer.domain.ids import new_id
from openissuer.domain.webhooks import WebhookSigningKey
from openissuer.ports.clock import Clock
from openissuer.ports.keys import Ed25519KeyStore
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.audit import audit_event

RELOAD_AFTER = timedelta(minutes=1)


def _aad(tenant_id: str, key_id: str) -> bytes:
    return f"openissuer/tenant/{tenant_id}/webhook-key/{key_id}".encode()


@dataclass(frozen=True)
class _Current:
    key: WebhookSigningKey
    signer: Signer
    loaded_at: datetime


class WebhookKeyService:
    """Select, rotate and publish a tenant's webhook signing keys."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        keys: Ed25519KeyStore,
        *,
        rotation: timedelta,
        overlap: timedelta,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._keys = keys
        self._rotation = rotation
        self._overlap = overlap
        self._current: dict[str, _Current] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def signer_for(self, tenant_id: str) -> Signer:
        """Return the signer of the tenant's newest key, making a new key first when there is none or it is due."""
        now = self._clock.now()
        current = self._current.get(tenant_id)
        if current is not None and now - current.loaded_at < RELOAD_AFTER and not self._due(current.key, now):
            return current.signer
        async with self._locks.setdefault(tenant_id, asyncio.Lock()):
            key = await self._newest_or_new(tenant_id, now)
            current = _Current(key, self._keys.load_ed25519(key.sealed_private_key, aad=_aad(tenant_id, key.id)), now)
            self._current[tenant_id] = current
        return current.signer

    async def jwks(self, tenant_id: str) -> dict[str, Any]:
        """Return the tenant's published keys as a JWK Set (the newest first)."""
        now = self._clock.now()
        async with self._uow(read_only=True) as uow:
            keys = list(await uow.webhooks.list_signing_keys(tenant_id))
        if not keys or self._due(keys[0], now):
            keys = [await self._newest_or_new(tenant_id, now), *keys]
        published = [keys[0], *(k for k in keys[1:] if k.created_at > now - self._rotation - self._overlap)]
        return {"keys": [{**k.public_jwk, "kid": k.kid, "use": "sig", "alg": "EdDSA"} for k in published]}

    def _due(self, key: WebhookSigningKey, now: datetime) -> bool:
        return now - key.created_at >= self._rotation

    async def _newest_or_new(self, tenant_id: str, now: datetime) -> WebhookSigningKey:
        """Return the newest key unless it is due; else make one (and forget keys past their overlap)."""
        async with self._uow(read_only=True) as uow:
            keys = await uow.webhooks.list_signing_keys(tenant_id)
        if keys and not self._due(keys[0], now):
            return keys[0]
        key_id = new_id()
        signer, sealed = self._keys.generate_ed25519(aad=_aad(tenant_id, key_id))
        key = WebhookSigningKey(key_id, tenant_id, signer.kid, signer.public_jwk, sealed, now)
        async with self._uow() as uow:
            await uow.webhooks.add_signing_key(key)
            await uow.webhooks.prune_signing_keys(tenant_id, now - self._rotation - self._overlap)
            data = {"kid": key.kid, "replacedKid": keys[0].kid if keys else None}
            await uow.events.add(audit_event(WEBHOOK_KEY_CREATED, tenant_id, now, data))
            await uow.commit()
        return key
