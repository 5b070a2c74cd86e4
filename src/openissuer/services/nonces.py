"""The nonce endpoint (OID4VCI 1.0 §7): single-use ``c_nonce`` values shared by every process through storage.

The credential endpoint uses them up (``services/issuance.py``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.wallet_secrets import digest_secret, new_secret

# Expired nonces are deleted now and then by the requests that create new ones, so the table stays small
# without a background job.
PURGE_ONE_IN = 200


class NonceService:
    """Create ``c_nonce`` values."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, *, ttl: timedelta) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._ttl = ttl

    async def create_nonce(self, tenant_id: str) -> str:
        """Return a fresh, unpredictable nonce (256 bits) of the tenant, valid for the configured lifetime."""
        nonce, now = new_secret(), self._clock.now()
        async with self._uow() as uow:
            await uow.nonces.add(tenant_id, digest_secret(nonce), expires_at=now + self._ttl, created_at=now)
            if secrets.randbelow(PURGE_ONE_IN) == 0:
                await uow.nonces.purge_expired(now)
            await uow.commit()
        return nonce
