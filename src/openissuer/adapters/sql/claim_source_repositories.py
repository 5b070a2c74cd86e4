"""Claims sources in SQL: the fields as one JSON body, the secret (API key or client secret) sealed beside it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.config_version import bump_config_version
from openissuer.adapters.sql.rows import as_utc, page_query, split_page, to_db_time
from openissuer.adapters.sql.tables import claim_sources, credential_configurations
from openissuer.domain.claim_sources import (
    ApiKeyAuthorization,
    AuthorizationType,
    ClaimSource,
    OAuthClientCredentials,
    RequestMethod,
)
from openissuer.domain.pages import Page, PageKey


def _body(source: ClaimSource) -> dict[str, Any]:
    authorization: dict[str, Any] = {"type": source.authorization_type.value, "hint": source.authorization.hint}
    if isinstance(source.authorization, OAuthClientCredentials):
        authorization.update(
            tokenEndpoint=source.authorization.token_endpoint,
            clientId=source.authorization.client_id,
            audience=source.authorization.audience,
            tokenEndpointAuthMethod=source.authorization.token_endpoint_auth_method,
        )
    return {
        "name": source.name,
        "url": source.url,
        "requestMethod": source.request_method.value,
        "requestParameters": source.request_parameters,
        "authorization": authorization,
        "strict": source.strict,
    }


def _sealed(source: ClaimSource) -> bytes:
    if isinstance(source.authorization, ApiKeyAuthorization):
        return source.authorization.sealed_value
    return source.authorization.sealed_client_secret


def _from_row(row: Any) -> ClaimSource:
    body = row.body
    auth = body["authorization"]
    sealed = bytes(row.sealed_secret)
    authorization: ApiKeyAuthorization | OAuthClientCredentials
    if auth["type"] == AuthorizationType.API_KEY.value:
        authorization = ApiKeyAuthorization(sealed_value=sealed, hint=auth["hint"])
    else:
        authorization = OAuthClientCredentials(
            token_endpoint=auth["tokenEndpoint"],
            client_id=auth["clientId"],
            sealed_client_secret=sealed,
            hint=auth["hint"],
            token_endpoint_auth_method=auth["tokenEndpointAuthMethod"],
            audience=auth.get("audience"),
        )
    return ClaimSource(
        id=row.id,
        tenant_id=row.tenant_id,
        name=body["name"],
        url=body["url"],
        request_method=RequestMethod(body["requestMethod"]),
        request_parameters=body["requestParameters"],
        authorization=authorization,
        strict=bool(body.get("strict")),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


class SqlClaimSourceRepository:
    """Claims sources in SQL; every write raises the tenant's configuration version."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, source: ClaimSource) -> None:
        """Insert a claims source."""
        await self._conn.execute(
            insert(claim_sources).values(
                id=source.id,
                tenant_id=source.tenant_id,
                body=_body(source),
                sealed_secret=_sealed(source),
                created_at=to_db_time(source.created_at),
                updated_at=to_db_time(source.updated_at),
            )
        )
        await bump_config_version(self._conn, source.tenant_id)

    async def get(self, tenant_id: str, id: str) -> ClaimSource | None:
        """Return the tenant's claims source."""
        t = claim_sources
        row = (await self._conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.id == id))).first()
        return None if row is None else _from_row(row)

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[ClaimSource]:
        """Return one page of the tenant's claims sources."""
        t = claim_sources
        query = page_query(select(t).where(t.c.tenant_id == tenant_id), t, limit=limit, after=after)
        rows, next_key = split_page((await self._conn.execute(query)).all(), limit)
        return Page(items=[_from_row(row) for row in rows], next_key=next_key)

    async def list_all(self, tenant_id: str) -> Sequence[ClaimSource]:
        """Return every claims source of the tenant."""
        t = claim_sources
        query = select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.created_at, t.c.id)
        return [_from_row(row) for row in (await self._conn.execute(query)).all()]

    async def update(self, source: ClaimSource) -> bool:
        """Replace a claims source's fields."""
        t = claim_sources
        query = (
            update(t)
            .where(t.c.tenant_id == source.tenant_id, t.c.id == source.id)
            .values(body=_body(source), sealed_secret=_sealed(source), updated_at=to_db_time(source.updated_at))
        )
        if not (await self._conn.execute(query)).rowcount:
            return False
        await bump_config_version(self._conn, source.tenant_id)
        return True

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a claims source."""
        t = claim_sources
        if not (await self._conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.id == id))).rowcount:
            return False
        await bump_config_version(self._conn, tenant_id)
        return True

    async def lock(self, tenant_id: str, id: str, *, exclusive: bool) -> bool:
        """``SELECT … FOR SHARE`` / ``FOR UPDATE`` on PostgreSQL; a plain read on SQLite (writers are serial)."""
        t = claim_sources
        query = select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.id == id)
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(read=not exclusive)
        return (await self._conn.execute(query)).first() is not None

    async def referencing_configurations(self, tenant_id: str, id: str) -> Sequence[str]:
        """Return the configurations that name this source as their ``claimSourceId``."""
        t = credential_configurations
        query = (
            select(t.c.id)
            .where(t.c.tenant_id == tenant_id, t.c.body["claimSourceId"].as_string() == id)
            .order_by(t.c.created_at, t.c.id)
        )
        return list((await self._conn.execute(query)).scalars().all())
