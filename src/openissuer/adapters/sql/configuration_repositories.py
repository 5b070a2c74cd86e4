"""SQL repositories of credential configurations (every format, one table) and issued-credential records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.config_version import bump_config_version
from openissuer.adapters.sql.rows import as_utc, insert_unless_taken, page_query, split_page, to_db_time
from openissuer.adapters.sql.tables import credential_configurations, issued_credentials
from openissuer.adapters.sql.wallet_rows import as_is, record_values
from openissuer.domain.branding import Branding
from openissuer.domain.configurations import CredentialConfiguration
from openissuer.domain.durations import Duration
from openissuer.domain.issued import IssuedCredentialRecord, StatusReference
from openissuer.domain.pages import Page, PageKey
from openissuer.errors import ConflictError, ErrorDetail

_GET_CONFIGURATION = select(credential_configurations).where(
    credential_configurations.c.tenant_id == bindparam("tenant"), credential_configurations.c.id == bindparam("id")
)
_ALL_CONFIGURATIONS = (
    select(credential_configurations)
    .where(credential_configurations.c.tenant_id == bindparam("tenant"))
    .order_by(credential_configurations.c.created_at, credential_configurations.c.id)
)


def type_conflict(credential_type: str) -> ConflictError:
    """The error for a credential type the tenant already has a configuration of (in the same format)."""
    return ConflictError(
        "A configuration for this type already exists",
        details=[ErrorDetail("body", "type", "must be unique among the tenant's configurations", credential_type)],
    )


def _configuration_body(c: CredentialConfiguration) -> dict[str, Any]:
    return {
        "claimMappings": c.claim_mappings,
        "expiresIn": None if c.expires_in is None else asdict(c.expires_in),
        "validFrom": c.valid_from_path,
        "validUntil": c.valid_until_path,
        "claimSourceId": c.claim_source_id,
        "includeStatus": c.include_status,
        "branding": asdict(c.branding) if c.branding else None,
        "options": c.options,
    }


def _configuration_from_row(row: Any) -> CredentialConfiguration:
    body = row.body
    return CredentialConfiguration(
        id=row.id,
        tenant_id=row.tenant_id,
        format=row.format,
        credential_type=row.credential_type,
        claim_mappings=body["claimMappings"],
        expires_in=Duration(**body["expiresIn"]) if body.get("expiresIn") is not None else None,
        valid_from_path=body.get("validFrom"),
        valid_until_path=body.get("validUntil"),
        claim_source_id=body.get("claimSourceId"),
        include_status=bool(body.get("includeStatus")),
        branding=Branding(**body["branding"]) if body.get("branding") else None,
        options=dict(body.get("options") or {}),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


class SqlCredentialConfigurationRepository:
    """Credential configurations in SQL; the submitted fields are kept as one JSON body."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, configuration: CredentialConfiguration) -> None:
        """Insert a configuration; a type taken in the tenant's configurations of the format is a ConflictError."""
        values = {
            "id": configuration.id,
            "tenant_id": configuration.tenant_id,
            "format": configuration.format,
            "credential_type": configuration.credential_type,
            "body": _configuration_body(configuration),
            "created_at": to_db_time(configuration.created_at),
            "updated_at": to_db_time(configuration.updated_at),
        }
        if not await insert_unless_taken(self._conn, credential_configurations, values):
            raise type_conflict(configuration.credential_type)
        await bump_config_version(self._conn, configuration.tenant_id)

    async def get(self, tenant_id: str, id: str) -> CredentialConfiguration | None:
        """Return the tenant's configuration or None."""
        row = (await self._conn.execute(_GET_CONFIGURATION, {"tenant": tenant_id, "id": id})).first()
        return None if row is None else _configuration_from_row(row)

    async def list(
        self, tenant_id: str, *, format: str, limit: int, after: PageKey | None, credential_type: str | None = None
    ) -> Page[CredentialConfiguration]:
        """Return one page of the tenant's configurations of one format, optionally of one type."""
        t = credential_configurations
        query = select(t).where(t.c.tenant_id == tenant_id, t.c.format == format)
        if credential_type is not None:
            query = query.where(t.c.credential_type == credential_type)
        rows, next_key = split_page(
            (await self._conn.execute(page_query(query, t, limit=limit, after=after))).all(), limit
        )
        return Page(items=[_configuration_from_row(row) for row in rows], next_key=next_key)

    async def list_all(self, tenant_id: str) -> Sequence[CredentialConfiguration]:
        """Return every configuration of the tenant in creation order."""
        rows = (await self._conn.execute(_ALL_CONFIGURATIONS, {"tenant": tenant_id})).all()
        return [_configuration_from_row(row) for row in rows]

    async def update(self, configuration: CredentialConfiguration) -> bool:
        """Replace the stored fields of a configuration; a type taken by another is a ConflictError."""
        t = credential_configurations
        taken = (
            select(t.c.id)
            .where(
                t.c.tenant_id == configuration.tenant_id,
                t.c.format == configuration.format,
                t.c.credential_type == configuration.credential_type,
                t.c.id != configuration.id,
            )
            .exists()
        )
        # A check in the same statement, not a caught IntegrityError (see rows.insert_unless_taken).
        query = (
            update(t)
            .where(t.c.tenant_id == configuration.tenant_id, t.c.id == configuration.id, ~taken)
            .values(
                credential_type=configuration.credential_type,
                body=_configuration_body(configuration),
                updated_at=to_db_time(configuration.updated_at),
            )
        )
        if (await self._conn.execute(query)).rowcount:
            await bump_config_version(self._conn, configuration.tenant_id)
            return True
        if await self.get(configuration.tenant_id, configuration.id) is not None:
            raise type_conflict(configuration.credential_type)
        return False

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's configuration; tell whether a row went."""
        t = credential_configurations
        result = await self._conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.id == id))
        if result.rowcount:
            await bump_config_version(self._conn, tenant_id)
        return bool(result.rowcount)


def _record_from_row(row: Any) -> IssuedCredentialRecord:
    return IssuedCredentialRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        configuration_id=row.configuration_id,
        format=row.format,
        profile=row.profile,
        credential_type=row.credential_type,
        user_id=row.user_id,
        offer_id=row.offer_id,
        signer_id=row.signer_id,
        holder_key_thumbprint=row.holder_key_thumbprint,
        issued_at=as_utc(row.created_at),
        valid_from=as_utc(row.valid_from),
        valid_until=as_utc(row.valid_until),
        status=row.status,
        status_reference=None
        if row.status_list_id is None
        else StatusReference(list_id=row.status_list_id, index=int(row.status_index)),
        details=dict(row.details),
        session_id=row.session_id,
    )


class SqlIssuedCredentialRepository:
    """Issued-credential records in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, record: IssuedCredentialRecord) -> None:
        """Insert a record."""
        await self._conn.execute(insert(issued_credentials).values(record_values(record, to_db_time, as_is)))

    async def set_status(self, tenant_id: str, id: str, status: str, *, expected: str | None = None) -> bool:
        """Set the status of the tenant's record (while it is ``expected``, when given): one conditional update."""
        t = issued_credentials
        statement = update(t).where(t.c.tenant_id == tenant_id, t.c.id == id).values(status=status)
        if expected is not None:
            statement = statement.where(t.c.status == expected)
        result = await self._conn.execute(statement)
        return bool(result.rowcount)

    async def find_by_status_entry(self, tenant_id: str, list_id: str, index: int) -> IssuedCredentialRecord | None:
        """Return the tenant's record at an entry of a status list."""
        t = issued_credentials
        query = select(t).where(t.c.status_list_id == list_id, t.c.status_index == index, t.c.tenant_id == tenant_id)
        row = (await self._conn.execute(query)).first()
        return None if row is None else _record_from_row(row)

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

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's record."""
        t = issued_credentials
        result = await self._conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.id == id))
        return bool(result.rowcount)
