"""A tenant's wallet security policy in SQL (one row per tenant, a JSON body); a change raises the tenant's
configuration version, so every process's cached copy is replaced at its next wallet request."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.config_version import bump_config_version
from openissuer.adapters.sql.rows import as_utc, insert_unless_taken, to_db_time
from openissuer.adapters.sql.tables import wallet_security
from openissuer.domain.wallet_security import WalletSecurityPolicy


def policy_body(policy: WalletSecurityPolicy) -> dict[str, Any]:
    """Return the stored JSON of a policy (certificates as base64 DER)."""
    return {
        "haip": policy.haip,
        "dpopRequired": policy.dpop_required,
        "clientAttestationRequired": policy.client_attestation_required,
        "clientAttestationRoots": [base64.b64encode(c).decode() for c in policy.client_attestation_roots],
        "keyAttestationRoots": [base64.b64encode(c).decode() for c in policy.key_attestation_roots],
        "credentialResponseEncryptionRequired": policy.credential_response_encryption_required,
    }


def policy_from_body(body: dict[str, Any], updated_at: Any = None) -> WalletSecurityPolicy:
    """Return the policy of its stored JSON."""
    return WalletSecurityPolicy(
        haip=bool(body.get("haip")),
        dpop_required=bool(body.get("dpopRequired")),
        client_attestation_required=bool(body.get("clientAttestationRequired")),
        client_attestation_roots=tuple(base64.b64decode(c) for c in body.get("clientAttestationRoots", ())),
        key_attestation_roots=tuple(base64.b64decode(c) for c in body.get("keyAttestationRoots", ())),
        credential_response_encryption_required=bool(body.get("credentialResponseEncryptionRequired")),
        updated_at=None if updated_at is None else as_utc(updated_at),
    )


class SqlWalletSecurityRepository:
    """Implements ``ports.repositories.WalletSecurityRepository`` in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def get(self, tenant_id: str) -> WalletSecurityPolicy | None:
        """Return the tenant's policy (None: never set)."""
        t = wallet_security
        row = (await self._conn.execute(select(t).where(t.c.tenant_id == tenant_id))).first()
        return None if row is None else policy_from_body(row.body, row.updated_at)

    async def put(self, tenant_id: str, policy: WalletSecurityPolicy) -> None:
        """Store the tenant's policy and raise its configuration version."""
        t = wallet_security
        assert policy.updated_at is not None
        values = {"body": policy_body(policy), "updated_at": to_db_time(policy.updated_at)}
        changed = await self._conn.execute(update(t).where(t.c.tenant_id == tenant_id).values(values))
        if not changed.rowcount and not await insert_unless_taken(self._conn, t, {"tenant_id": tenant_id, **values}):
            await self._conn.execute(update(t).where(t.c.tenant_id == tenant_id).values(values))  # a racing insert
        await bump_config_version(self._conn, tenant_id)
