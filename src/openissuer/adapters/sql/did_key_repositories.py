"""SQL repository of the keys of tenants' DID documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.config_version import bump_config_version
from openissuer.adapters.sql.rows import as_utc, insert_unless_taken, to_db_time
from openissuer.adapters.sql.tables import did_keys
from openissuer.domain.dids import DidKey

_KEYS_OF_TENANT = (
    select(did_keys)
    .where(did_keys.c.tenant_id == bindparam("tenant"))
    .order_by(did_keys.c.created_at.desc(), did_keys.c.id.desc())
)


def _key_from_row(row: Any) -> DidKey:
    return DidKey(
        id=row.id,
        tenant_id=row.tenant_id,
        kid=row.kid,
        public_jwk=dict(row.public_jwk),
        sealed_private_key=bytes(row.sealed_private_key),
        created_at=as_utc(row.created_at),
        not_after=as_utc(row.not_after),
    )


class SqlDidKeyRepository:
    """DID keys in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, key: DidKey) -> bool:
        """Insert a key unless its kid is taken in the tenant; raise the configuration version when it went in."""
        added = await insert_unless_taken(
            self._conn,
            did_keys,
            {
                "id": key.id,
                "tenant_id": key.tenant_id,
                "kid": key.kid,
                "public_jwk": key.public_jwk,
                "sealed_private_key": key.sealed_private_key,
                "created_at": to_db_time(key.created_at),
                "not_after": to_db_time(key.not_after),
            },
        )
        if added:
            await bump_config_version(self._conn, key.tenant_id)
        return added

    async def list(self, tenant_id: str) -> Sequence[DidKey]:
        """Return the tenant's keys, newest first."""
        rows = (await self._conn.execute(_KEYS_OF_TENANT, {"tenant": tenant_id})).all()
        return [_key_from_row(row) for row in rows]
