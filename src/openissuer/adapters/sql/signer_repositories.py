"""SQL storage of the signer management API: ``signer_requests`` (waiting for a certificate) and
``document_signers`` (certified), one page over both."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.config_version import bump_config_version
from openissuer.adapters.sql.pki_repositories import signer_from_row, signer_values
from openissuer.adapters.sql.rows import as_utc, page_query, to_db_time
from openissuer.adapters.sql.tables import document_signers, signer_requests
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.pki import DocumentSigner, SignerKind
from openissuer.domain.signer_requests import SignerEntry, SignerRequest


def _request_from_row(row: Any) -> SignerRequest:
    return SignerRequest(
        id=row.id,
        tenant_id=row.tenant_id,
        iaca_id=row.iaca_id,
        kind=SignerKind(row.kind),
        active=bool(row.active),
        csr_der=bytes(row.csr_der),
        sealed_private_key=bytes(row.sealed_private_key),
        created_at=as_utc(row.created_at),
    )


class SqlSignerRepository:
    """Certificate requests and certified signers in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add_request(self, request: SignerRequest) -> None:
        """Insert a certificate request (nothing signs with it yet: the configuration version stays)."""
        await self._conn.execute(
            insert(signer_requests).values(
                id=request.id,
                tenant_id=request.tenant_id,
                iaca_id=request.iaca_id,
                kind=request.kind.value,
                active=request.active,
                csr_der=request.csr_der,
                sealed_private_key=request.sealed_private_key,
                created_at=to_db_time(request.created_at),
            )
        )

    async def find(self, tenant_id: str, kind: SignerKind, id: str) -> SignerEntry | None:
        """Return the request or signer of this kind with this id."""
        r, s = signer_requests, document_signers
        row = (
            await self._conn.execute(select(r).where(r.c.tenant_id == tenant_id, r.c.kind == kind.value, r.c.id == id))
        ).first()
        if row is not None:
            return _request_from_row(row)
        row = (
            await self._conn.execute(select(s).where(s.c.tenant_id == tenant_id, s.c.kind == kind.value, s.c.id == id))
        ).first()
        return None if row is None else signer_from_row(row)

    async def list(self, tenant_id: str, kind: SignerKind, *, limit: int, after: PageKey | None) -> Page[SignerEntry]:
        """One page over both tables: each read in key order up to ``limit + 1``, merged, cut at ``limit``."""
        r, s = signer_requests, document_signers
        requests = await self._conn.execute(
            page_query(select(r).where(r.c.tenant_id == tenant_id, r.c.kind == kind.value), r, limit=limit, after=after)
        )
        signers = await self._conn.execute(
            page_query(select(s).where(s.c.tenant_id == tenant_id, s.c.kind == kind.value), s, limit=limit, after=after)
        )
        entries: list[SignerEntry] = [_request_from_row(row) for row in requests.all()]
        entries += [signer_from_row(row) for row in signers.all()]
        entries.sort(key=lambda e: (e.created_at, e.id))
        if len(entries) <= limit:
            return Page(items=entries, next_key=None)
        kept = entries[:limit]
        return Page(items=kept, next_key=PageKey(created_at=kept[-1].created_at, id=kept[-1].id))

    async def count_requested(self, tenant_id: str, kind: SignerKind) -> int:
        """Pending requests plus unrevoked signers certified through one."""
        r, s = signer_requests, document_signers
        pending = select(func.count()).select_from(r).where(r.c.tenant_id == tenant_id, r.c.kind == kind.value)
        certified = (
            select(func.count())
            .select_from(s)
            .where(
                s.c.tenant_id == tenant_id,
                s.c.kind == kind.value,
                s.c.csr_der.is_not(None),
                s.c.revoked_at.is_(None),
            )
        )
        return int((await self._conn.execute(pending)).scalar_one()) + int(
            (await self._conn.execute(certified)).scalar_one()
        )

    async def certify(self, request: SignerRequest, signer: DocumentSigner) -> bool:
        """Delete the request and insert its signer in this transaction."""
        r = signer_requests
        removed = await self._conn.execute(delete(r).where(r.c.tenant_id == request.tenant_id, r.c.id == request.id))
        if not removed.rowcount:
            return False
        await self._conn.execute(insert(document_signers).values(signer_values(signer)))
        await bump_config_version(self._conn, signer.tenant_id)
        return True

    async def set_active(self, tenant_id: str, id: str, active: bool) -> bool:
        """Set the flag on the request or the signer."""
        r, s = signer_requests, document_signers
        result = await self._conn.execute(
            update(r).where(r.c.tenant_id == tenant_id, r.c.id == id).values(active=active)
        )
        if result.rowcount:
            return True
        result = await self._conn.execute(
            update(s).where(s.c.tenant_id == tenant_id, s.c.id == id).values(active=active)
        )
        if not result.rowcount:
            return False
        await bump_config_version(self._conn, tenant_id)
        return True

    async def revoke(self, tenant_id: str, id: str, now: datetime) -> DocumentSigner | None:
        """Set ``revoked_at`` (once) and clear ``active``."""
        s = document_signers
        found = and_(s.c.tenant_id == tenant_id, s.c.id == id)
        await self._conn.execute(update(s).where(found, s.c.revoked_at.is_(None)).values(revoked_at=to_db_time(now)))
        result = await self._conn.execute(update(s).where(found).values(active=False))
        if not result.rowcount:
            return None
        await bump_config_version(self._conn, tenant_id)
        row = (await self._conn.execute(select(s).where(found))).first()
        return None if row is None else signer_from_row(row)

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the request or the signer."""
        r, s = signer_requests, document_signers
        if (await self._conn.execute(delete(r).where(r.c.tenant_id == tenant_id, r.c.id == id))).rowcount:
            return True
        if not (await self._conn.execute(delete(s).where(s.c.tenant_id == tenant_id, s.c.id == id))).rowcount:
            return False
        await bump_config_version(self._conn, tenant_id)
        return True
