"""In-memory repositories of the mDoc world; same contract as ``adapters/sql/mdoc_repositories.py``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.mdoc import MobileCredentialConfiguration
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.pki import DocumentSigner, Iaca
from openissuer.errors import ConflictError, ErrorDetail


class InMemoryMobileConfigurationRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.mobile_configurations

    def _check_doctype_free(self, configuration: MobileCredentialConfiguration) -> None:
        for other in self._rows.values():
            if (other.tenant_id, other.doctype) == (configuration.tenant_id, configuration.doctype) and (
                other.id != configuration.id
            ):
                raise ConflictError(
                    "A configuration for this type already exists",
                    details=[
                        ErrorDetail(
                            "body", "type", "must be unique among the tenant's mDoc configurations", other.doctype
                        )
                    ],
                )

    async def add(self, configuration: MobileCredentialConfiguration) -> None:
        """Store a configuration; a docType taken in the tenant is a ConflictError."""
        self._check_doctype_free(configuration)
        self._rows[configuration.id] = configuration

    async def get(self, tenant_id: str, id: str) -> MobileCredentialConfiguration | None:
        """Return the tenant's configuration or None."""
        row = self._rows.get(id)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def list(
        self, tenant_id: str, *, limit: int, after: PageKey | None, doctype: str | None = None
    ) -> Page[MobileCredentialConfiguration]:
        """Return one page of the tenant's configurations."""
        rows = (
            c for c in self._rows.values() if c.tenant_id == tenant_id and (doctype is None or c.doctype == doctype)
        )
        return page_of(rows, lambda c: (c.created_at, c.id), limit=limit, after=after)

    async def update(self, configuration: MobileCredentialConfiguration) -> bool:
        """Replace a configuration (keeping its creation time); tell whether it existed."""
        existing = await self.get(configuration.tenant_id, configuration.id)
        if existing is None:
            return False
        self._check_doctype_free(configuration)
        self._rows[configuration.id] = dataclasses.replace(configuration, created_at=existing.created_at)
        return True

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the tenant's configuration; tell whether it existed."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._rows[id]
        return True


class InMemoryIacaRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.iacas
        self._signers = state.document_signers

    async def add(self, iaca: Iaca) -> None:
        """Store an IACA."""
        self._rows[iaca.id] = iaca

    async def get(self, tenant_id: str, id: str) -> Iaca | None:
        """Return the tenant's IACA or None."""
        row = self._rows.get(id)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[Iaca]:
        """Return one page of the tenant's IACAs."""
        rows = (i for i in self._rows.values() if i.tenant_id == tenant_id)
        return page_of(rows, lambda i: (i.created_at, i.id), limit=limit, after=after)

    async def list_active(self, tenant_id: str) -> Sequence[Iaca]:
        """Return the tenant's active IACAs, newest first."""
        rows = [i for i in self._rows.values() if i.tenant_id == tenant_id and i.active]
        return sorted(rows, key=lambda i: (i.created_at, i.id), reverse=True)

    async def count(self, tenant_id: str) -> int:
        """Return how many IACAs the tenant has."""
        return sum(1 for i in self._rows.values() if i.tenant_id == tenant_id)

    async def set_active(self, tenant_id: str, id: str, active: bool) -> Iaca | None:
        """Set the ``active`` flag; return the updated IACA or None."""
        existing = await self.get(tenant_id, id)
        if existing is None:
            return None
        self._rows[id] = dataclasses.replace(existing, active=active)
        return self._rows[id]

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the IACA and its signers; tell whether it existed."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._rows[id]
        for signer_id in [s.id for s in self._signers.values() if s.iaca_id == id]:
            del self._signers[signer_id]
        return True


class InMemoryDocumentSignerRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.document_signers

    async def add(self, signer: DocumentSigner) -> None:
        """Store a signer."""
        self._rows[signer.id] = signer

    async def list_for_iaca(self, tenant_id: str, iaca_id: str) -> Sequence[DocumentSigner]:
        """Return the IACA's signers, newest first."""
        rows = [s for s in self._rows.values() if s.tenant_id == tenant_id and s.iaca_id == iaca_id]
        return sorted(rows, key=lambda s: (s.created_at, s.id), reverse=True)


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

    async def list(
        self, tenant_id: str, *, limit: int, after: PageKey | None, user_id: str | None = None
    ) -> Page[IssuedCredentialRecord]:
        """Return one page of records, optionally one user's."""
        rows = (
            r for r in self._rows.values() if r.tenant_id == tenant_id and (user_id is None or r.user_id == user_id)
        )
        return page_of(rows, lambda r: (r.issued_at, r.id), limit=limit, after=after)
