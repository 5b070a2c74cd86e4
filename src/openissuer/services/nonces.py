"""The nonce endpoint (OID4VCI 1.0 §7): stateless ``c_nonce`` values, MAC'd with the tenant's key.

The nonce endpoint touches no database. The credential endpoint checks a nonce with ``verify`` (is it this
tenant's, unaltered and unexpired?) and makes it single-use by remembering its hash until it expires
(``services/issuance.py``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from openissuer.ports.clock import Clock
from openissuer.ports.secrets import SecretBox
from openissuer.protocol.c_nonce import Mac, create_c_nonce, read_c_nonce
from openissuer.services.wallet_secrets import digest_secret

NONCE_MAC = "c-nonce"


@dataclass(frozen=True)
class CheckedNonce:
    """A valid nonce of the tenant: the hash it is remembered by once used, and when it expires."""

    digest: bytes
    expires_at: datetime


class NonceService:
    """Create and check ``c_nonce`` values."""

    def __init__(self, box: SecretBox, clock: Clock, *, ttl: timedelta) -> None:
        self._box = box
        self._clock = clock
        self._ttl = ttl

    def create_nonce(self, tenant_id: str) -> str:
        """Return a fresh nonce of the tenant, valid for the configured lifetime."""
        return create_c_nonce(self._mac(tenant_id), self._clock.now() + self._ttl, secrets.token_bytes)

    def verify(self, tenant_id: str, nonce: str) -> CheckedNonce | None:
        """Return the nonce's hash and expiry if the tenant made it and it has not expired; else None."""
        expires_at = read_c_nonce(self._mac(tenant_id), nonce, self._clock.now())
        return None if expires_at is None else CheckedNonce(digest_secret(nonce), expires_at)

    def _mac(self, tenant_id: str) -> Mac:
        box, purpose = self._box, f"{NONCE_MAC}/{tenant_id}"
        return lambda data: box.mac(purpose, data)
