"""SQL repositories of the mDoc world: configurations, IACAs, document signers, issued-credential records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.rows import as_utc, page_query, split_page, to_db_time
from openissuer.adapters.sql.tables import document_signers, iacas, issued_credentials, mobile_configurations
from openissuer.domain.durations import Duration
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.mdoc import Branding, MobileCredentialConfiguration
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.pki import CertificateData, DocumentSigner, Iaca
from openissuer.errors import ConflictError, ErrorDetail

# Statements of the credential hot path, built once (see offer_repositories.py).
_GET_CONFIGURATION = select(mobile_configurations).where(
    mobile_configurations.c.tenant_id == bindparam("tenant"), mobile_configurations.c.id == bindparam("id")
)
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


def _doctype_conflict(doctype: str) -> ConflictError:
    return ConflictError(
        "A configuration for this type already exists",
        details=[ErrorDetail("body", "type", "must be unique among the tenant's mDoc configurations", doctype)],
    )


def _configuration_body(c: MobileCredentialConfiguration) -> dict[str, Any]:
    return {
        "claimMappings": c.claim_mappings,
        "expiresIn": asdict(c.expires_in),
        "validFrom": c.valid_from_path,
        "validUntil": c.valid_until_path,
        "claimSourceId": c.claim_source_id,
        "includeStatus": c.include_status,
        "branding": asdict(c.branding) if c.branding else None,
    }


def _configuration_from_row(row: Any) -> MobileCredentialConfiguration:
    body = row.body
    return MobileCredentialConfiguration(
        id=row.id,
        tenant_id=row.tenant_id,
        doctype=row.doctype,
        claim_mappings=body["claimMappings"],
        expires_in=Duration(**body["expiresIn"]),
        valid_from_path=body.get("validFrom"),
        valid_until_path=body.get("validUntil"),
        claim_source_id=body.get("claimSourceId"),
        include_status=bool(body.get("includeStatus")),
        branding=Branding(**body["branding"]) if body.get("branding") else None,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


class SqlMobileConfigurationRepository:
    """mDoc credential configurations in SQL; the submitted fields are kept as one JSON body."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, configuration: MobileCredentialConfiguration) -> None:
        """Insert a configuration; a docType taken in the tenant is a ConflictError."""
        values = {
            "id": configuration.id,
            "tenant_id": configuration.tenant_id,
            "doctype": configuration.doctype,
            "body": _configuration_body(configuration),
            "created_at": to_db_time(configuration.created_at),
            "updated_at": to_db_time(configuration.updated_at),
        }
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(insert(mobile_configurations).values(values))
        except IntegrityError as exc:
            raise _doctype_conflict(configuration.doctype) from exc

    async def get(self, tenant_id: str, id: str) -> MobileCredentialConfiguration | None:
        """Return the tenant's configuration or None."""
        row = (await self._conn.execute(_GET_CONFIGURATION, {"tenant": tenant_id, "id": id})).first()
        return None if row is None else _configuration_from_row(row)

    async def list(
        self, tenant_id: str, *, limit: int, after: PageKey | None, doctype: str | None = None
    ) -> Page[MobileCredentialConfiguration]:
        """Return one page of the tenant's configurations, optionally of one docType."""
        t = mobile_configurations
        query = select(t).where(t.c.tenant_id == tenant_id)
        if doctype is not None:
            query = query.where(t.c.doctype == doctype)
        rows, next_key = split_page(
            (await self._conn.execute(page_query(query, t, limit=limit, after=after))).all(), limit
        )
        return Page(items=[_configuration_from_row(row) for row in rows], next_key=next_key)

    async def update(self, configuration: MobileCredentialConfiguration) -> bool:
        """Replace the stored fields of a configuration; a docType taken by another is a ConflictError."""
        t = mobile_configurations
        query = (
            update(t)
            .where(t.c.tenant_id == configuration.tenant_id, t.c.id == configuration.id)
            .values(
                doctype=configuration.doctype,
                body=_configuration_body(configuration),
                updated_at=to_db_time(configuration.updated_at),
            )
        )
        try:
            async with self._conn.begin_nested():
                result = await self._conn.execute(query)
        except IntegrityError as exc:
            raise _doctype_conflict(configuration.doctype) from exc
        return bool(result.rowcount)

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's configuration; tell whether a row went."""
        t = mobile_configurations
        result = await self._conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.id == id))
        return bool(result.rowcount)


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
        sealed_private_key=bytes(row.sealed_private_key),
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
        return await self.get(tenant_id, id)

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the IACA and its signers; tell whether it existed."""
        signers = document_signers
        await self._conn.execute(delete(signers).where(signers.c.tenant_id == tenant_id, signers.c.iaca_id == id))
        result = await self._conn.execute(delete(iacas).where(iacas.c.tenant_id == tenant_id, iacas.c.id == id))
        return bool(result.rowcount)


def _signer_from_row(row: Any) -> DocumentSigner:
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
    )


class SqlDocumentSignerRepository:
    """Document signers in SQL (serial numbers as decimal text: they exceed 64-bit integers)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, signer: DocumentSigner) -> None:
        """Insert a signer."""
        await self._conn.execute(
            insert(document_signers).values(
                id=signer.id,
                tenant_id=signer.tenant_id,
                iaca_id=signer.iaca_id,
                certificate_der=signer.certificate_der,
                serial_number=str(signer.serial_number),
                not_before=to_db_time(signer.not_before),
                not_after=to_db_time(signer.not_after),
                sealed_private_key=signer.sealed_private_key,
                created_at=to_db_time(signer.created_at),
                revoked_at=to_db_time(signer.revoked_at) if signer.revoked_at else None,
            )
        )

    async def list_for_iaca(self, tenant_id: str, iaca_id: str) -> Sequence[DocumentSigner]:
        """Return the IACA's signers, newest first."""
        rows = (await self._conn.execute(_SIGNERS_OF_IACA, {"tenant": tenant_id, "iaca": iaca_id})).all()
        return [_signer_from_row(row) for row in rows]


def _record_from_row(row: Any) -> IssuedCredentialRecord:
    return IssuedCredentialRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        configuration_id=row.configuration_id,
        profile=row.profile,
        doctype=row.doctype,
        user_id=row.user_id,
        offer_id=row.offer_id,
        signer_id=row.signer_id,
        device_key=row.device_key,
        digests=row.digests,
        mso_hash=row.mso_hash,
        issued_at=as_utc(row.created_at),
        valid_from=as_utc(row.valid_from),
        valid_until=as_utc(row.valid_until),
        status=row.status,
    )


class SqlIssuedCredentialRepository:
    """Issued-credential records in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, record: IssuedCredentialRecord) -> None:
        """Insert a record."""
        await self._conn.execute(
            insert(issued_credentials).values(
                id=record.id,
                tenant_id=record.tenant_id,
                configuration_id=record.configuration_id,
                profile=record.profile,
                doctype=record.doctype,
                user_id=record.user_id,
                offer_id=record.offer_id,
                signer_id=record.signer_id,
                device_key=record.device_key,
                digests=record.digests,
                mso_hash=record.mso_hash,
                created_at=to_db_time(record.issued_at),
                valid_from=to_db_time(record.valid_from),
                valid_until=to_db_time(record.valid_until),
                status=record.status,
            )
        )

    async def get(self, tenant_id: str, id: str) -> IssuedCredentialRecord | None:
        """Return the tenant's record or None."""
        t = issued_credentials
        row = (await self._conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.id == id))).first()
        return None if row is None else _record_from_row(row)

    async def list(
        self, tenant_id: str, *, limit: int, after: PageKey | None, user_id: str | None = None
    ) -> Page[IssuedCredentialRecord]:
        """Return one page of records, optionally one user's."""
        t = issued_credentials
        query = select(t).where(t.c.tenant_id == tenant_id)
        if user_id is not None:
            query = query.where(t.c.user_id == user_id)
        rows, next_key = split_page(
            (await self._conn.execute(page_query(query, t, limit=limit, after=after))).all(), limit
        )
        return Page(items=[_record_from_row(row) for row in rows], next_key=next_key)
