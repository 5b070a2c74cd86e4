"""In-memory credential configurations and issued-credential records; same contract as the SQL ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.configurations import CredentialConfiguration
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.pages import Page, PageKey
from openissuer.errors import ConflictError, ErrorDetail


class InMemoryCredentialConfigurationRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._rows = state.credential_configurations

    def _check_type_free(self, configuration: CredentialConfiguration) -> None:
        key = (configuration.tenant_id, configuration.format, configuration.credential_type)
        for other in self._rows.values():
            if (other.tenant_id, other.format, other.credential_type) == key and other.id != configuration.id:
                raise ConflictError(
                    "A configuration for this type already exists",
                    details=[
                        ErrorDetail(
                            "body", "type", "must be unique among the tenant's configurations", other.credential_type
                        )
                    ],
                )

    async def add(self, configuration: CredentialConfiguration) -> None:
        """Store a configuration; a type taken in the tenant's configurations of the format is a ConflictError."""
        self._check_type_free(configuration)
        self._rows[configuration.id] = configuration
        self._state.bump_config_version(configuration.tenant_id)

    async def get(self, tenant_id: str, id: str) -> CredentialConfiguration | None:
        """Return the tenant's configuration or None."""
        row = self._rows.get(id)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def list(
        self, tenant_id: str, *, format: str, limit: int, after: PageKey | None, credential_type: str | None = None
    ) -> Page[CredentialConfiguration]:
        """Return one page of the tenant's configurations of one format."""
        rows = (
            c
            for c in self._rows.values()
            if c.tenant_id == tenant_id
            and c.format == format
            and (credential_type is None or c.credential_type == credential_type)
        )
        return page_of(rows, lambda c: (c.created_at, c.id), limit=limit, after=after)

    async def list_all(self, tenant_id: str) -> Sequence[CredentialConfiguration]:
        """Return every configuration of the tenant in creation order."""
        return sorted((c for c in self._rows.values() if c.tenant_id == tenant_id), key=lambda c: (c.created_at, c.id))

    async def update(self, configuration: CredentialConfiguration) -> bool:
        """Replace a configuration (keeping its creation time and format); tell whether it existed."""
        existing = await self.get(configuration.tenant_id, configuration.id)
        if existing is None:
            return False
        self._check_type_free(configuration)
        self._rows[configuration.id] = dataclasses.replace(
            configuration, created_at=existing.created_at, format=existing.format
        )
        self._state.bump_config_version(configuration.tenant_id)
        return True

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's configuration; tell whether it existed."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._rows[id]
        self._state.bump_config_version(tenant_id)
        return True


class InMemoryIssuedCredentialRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.issued_credentials

    async def add(self, record: IssuedCredentialRecord) -> None:
        """Store a record."""
        self._rows[record.id] = record

    async def get(self, tenant_id: str, id: str) -> IssuedCredentialRecord | None:
        """Return the tenant's record or None."""
        row = self._rows.get(id)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def set_status(self, tenant_id: str, id: str, status: str, *, expected: str | None = None) -> bool:
        """Set the status of the tenant's record (while it is ``expected``, when given)."""
        row = await self.get(tenant_id, id)
        if row is None or (expected is not None and row.status != expected):
            return False
        self._rows[id] = dataclasses.replace(row, status=status)
        return True

    async def find_by_status_entry(self, tenant_id: str, list_id: str, index: int) -> IssuedCredentialRecord | None:
        """Return the tenant's record at an entry of a status list."""
        return next(
            (
                r
                for r in self._rows.values()
                if r.tenant_id == tenant_id
                and r.status_reference is not None
                and (r.status_reference.list_id, r.status_reference.index) == (list_id, index)
            ),
            None,
        )

    async def list(
        self, tenant_id: str, *, limit: int, after: PageKey | None, user_id: str | None = None
    ) -> Page[IssuedCredentialRecord]:
        """Return one page of records, optionally one user's."""
        rows = (
            r for r in self._rows.values() if r.tenant_id == tenant_id and (user_id is None or r.user_id == user_id)
        )
        return page_of(rows, lambda r: (r.issued_at, r.id), limit=limit, after=after)

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's record."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._rows[id]
        return True
