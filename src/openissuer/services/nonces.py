"""The nonce endpoint (OID4VCI 1.0 §7): single-use ``c_nonce`` values shared by every process through storage."""

from __future__ import annotations

import secrets
from datetime import timedelta

from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.services.wallet_secrets import digest_secret, new_secret

INVALID_NONCE = "The c_nonce is unknown, used or expired; get a new one from the nonce endpoint"
# Expired nonces are deleted now and then by the requests that create new ones, so the table stays small
# without a background job.
PURGE_ONE_IN = 200


class NonceService:
    """Create and use up ``c_nonce`` values."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, *, ttl: timedelta) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._ttl = ttl

    async def create_nonce(self, tenant_id: str = DEFAULT_TENANT_ID) -> str:
        """Return a fresh, unpredictable nonce (256 bits), valid for the configured lifetime."""
        nonce, now = new_secret(), self._clock.now()
        async with self._uow() as uow:
            await uow.nonces.add(tenant_id, digest_secret(nonce), expires_at=now + self._ttl, created_at=now)
            if secrets.randbelow(PURGE_ONE_IN) == 0:
                await uow.nonces.purge_expired(now)
            await uow.commit()
        return nonce

    async def consume_in(self, uow: UnitOfWork, nonces: set[str], tenant_id: str = DEFAULT_TENANT_ID) -> bool:
        """Use the nonces up in the caller's unit of work (which must commit); tell whether all were fresh."""
        now = self._clock.now()
        fresh = [await uow.nonces.consume(tenant_id, digest_secret(nonce), now) for nonce in sorted(nonces)]
        return all(fresh)
