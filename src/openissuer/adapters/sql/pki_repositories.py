"""SQL repositories of the mDoc trust chain: IACAs and the document signers they certify."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.config_version import bump_config_version
from openissuer.adapters.sql.rows import as_utc, page_query, split_page, to_db_time
from openissuer.adapters.sql.tables import document_signers, iacas, signer_requests
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.pki import CertificateData, DocumentSigner, Iaca, SignerKind

# Statements of the credential hot path, built once (see offer_repositories.py).
_ACTIVE_IACAS = (
    select(iacas)
    .where(iacas.c.tenant_id == bindparam("tenant"), iacas.c.active.is_(True))
    .order_by(iacas.c.created_at.desc(), iacas.c.id.desc())
)
_SIGNERS_OF_IACA = (
    select(document_signers)
    .where(document_signers.c.tenant_id == bindparam("tenant"), document_signers.c.iaca_id == bindparam("iaca"))
    .order_by(document_signers.c.created_at.desc(), document_signers.c.id.desc())
)


def _iaca_from_row(row: Any) -> Iaca:
    return Iaca(
        id=row.id,
        tenant_id=row.tenant_id,
        active=bool(row.active),
        is_managed=bool(row.is_managed),
        certificate_der=bytes(row.certificate_der),
        fingerprint=row.fingerprint,
        data=CertificateData(
            common_name=row.common_name,
            country=row.country,
            state_or_province_name=row.state_or_province_name,
            not_before=as_utc(row.not_before),
            not_after=as_utc(row.not_after),
        ),
        sealed_private_key=None if row.sealed_private_key is None else bytes(row.sealed_private_key),
        created_at=as_utc(row.created_at),
    )


class SqlIacaRepository:
    """IACAs in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, iaca: Iaca) -> None:
        """Insert an IACA."""
        await self._conn.execute(
            insert(iacas).values(
                id=iaca.id,
                tenant_id=iaca.tenant_id,
                active=iaca.active,
                is_managed=iaca.is_managed,
                certificate_der=iaca.certificate_der,
                fingerprint=iaca.fingerprint,
                common_name=iaca.data.common_name,
                country=iaca.data.country,
                state_or_province_name=iaca.data.state_or_province_name,
                not_before=to_db_time(iaca.data.not_before),
                not_after=to_db_time(iaca.data.not_after),
                sealed_private_key=iaca.sealed_private_key,
                created_at=to_db_time(iaca.created_at),
            )
        )
        await bump_config_version(self._conn, iaca.tenant_id)

    async def get(self, tenant_id: str, id: str) -> Iaca | None:
        """Return the tenant's IACA or None."""
        row = (await self._conn.execute(select(iacas).where(iacas.c.tenant_id == tenant_id, iacas.c.id == id))).first()
        return None if row is None else _iaca_from_row(row)

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[Iaca]:
        """Return one page of the tenant's IACAs."""
        query = page_query(select(iacas).where(iacas.c.tenant_id == tenant_id), iacas, limit=limit, after=after)
        rows, next_key = split_page((await self._conn.execute(query)).all(), limit)
        return Page(items=[_iaca_from_row(row) for row in rows], next_key=next_key)

    async def list_active(self, tenant_id: str) -> Sequence[Iaca]:
        """Return the tenant's active IACAs, newest first."""
        rows = (await self._conn.execute(_ACTIVE_IACAS, {"tenant": tenant_id})).all()
        return [_iaca_from_row(row) for row in rows]

    async def count(self, tenant_id: str) -> int:
        """Return how many IACAs the tenant has."""
        query = select(func.count()).select_from(iacas).where(iacas.c.tenant_id == tenant_id)
        return int((await self._conn.execute(query)).scalar_one())

    async def set_active(self, tenant_id: str, id: str, active: bool) -> Iaca | None:
        """Set the ``active`` flag; return the updated IACA or None."""
        query = update(iacas).where(iacas.c.tenant_id == tenant_id, iacas.c.id == id).values(active=active)
        if not (await self._conn.execute(query)).rowcount:
            return None
        await bump_config_version(self._conn, tenant_id)
        return await self.get(tenant_id, id)

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the IACA and its signers; tell whether it existed."""
        signers = document_signers
        await self._conn.execute(delete(signers).where(signers.c.tenant_id == tenant_id, signers.c.iaca_id == id))
        requests = signer_requests
        await self._conn.execute(delete(requests).where(requests.c.tenant_id == tenant_id, requests.c.iaca_id == id))
        result = await self._conn.execute(delete(iacas).where(iacas.c.tenant_id == tenant_id, iacas.c.id == id))
        if result.rowcount:
            await bump_config_version(self._conn, tenant_id)
        return bool(result.rowcount)


def signer_from_row(row: Any) -> DocumentSigner:
    return DocumentSigner(
        id=row.id,
        tenant_id=row.tenant_id,
        iaca_id=row.iaca_id,
        certificate_der=bytes(row.certificate_der),
        serial_number=int(row.serial_number),
        not_before=as_utc(row.not_before),
        not_after=as_utc(row.not_after),
        sealed_private_key=bytes(row.sealed_private_key),
        created_at=as_utc(row.created_at),
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
        kind=SignerKind(row.kind),
        active=bool(row.active),
        csr_der=None if row.csr_der is None else bytes(row.csr_der),
    )


def signer_values(signer: DocumentSigner) -> dict[str, Any]:
    """The ``document_signers`` row of a signer."""
    return {
        "id": signer.id,
        "tenant_id": signer.tenant_id,
        "iaca_id": signer.iaca_id,
        "certificate_der": signer.certificate_der,
        "serial_number": str(signer.serial_number),
        "not_before": to_db_time(signer.not_before),
        "not_after": to_db_time(signer.not_after),
        "sealed_private_key": signer.sealed_private_key,
        "created_at": to_db_time(signer.created_at),
        "revoked_at": to_db_time(signer.revoked_at) if signer.revoked_at else None,
        "kind": signer.kind.value,
        "active": signer.active,
        "csr_der": signer.csr_der,
    }


class SqlDocumentSignerRepository:
    """Document signers in SQL (serial numbers as decimal text: they exceed 64-bit integers)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, signer: DocumentSigner) -> None:
        """Insert a signer."""
        await self._conn.execute(insert(document_signers).values(signer_values(signer)))
        await bump_config_version(self._conn, signer.tenant_id)

    async def list_for_iaca(self, tenant_id: str, iaca_id: str) -> Sequence[DocumentSigner]:
        """Return the IACA's signers, newest first."""
        rows = (await self._conn.execute(_SIGNERS_OF_IACA, {"tenant": tenant_id, "iaca": iaca_id})).all()
        return [signer_from_row(row) for row in rows]
