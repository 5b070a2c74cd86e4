"""CWT revocation lists (reference platform §10.2): revoking and un-revoking credentials, publishing the lists.

A revocable CWT's record keeps its list and index (``status_reference``) and its status (``valid`` or
``revoked``). Setting the status (``services/credential_status.change_status``, shared with every kind of list)
sets the list's entry and raises the list's revision in the same transaction. The public list document is built
from the list's entries (the indexes of its revoked credentials, kept when a record is deleted), signed by a key
of the tenant's DID document and cached per process per list revision; a GET reads the list's row (one small
statement) and rebuilds when its revision moved or the cached document is older than ``REBUILD_AFTER``, so every
process serves a change from its next request. The wire format is ``formats/cwt/revocation_list.py``'s.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.status_lists import REVOKED, VALID, StatusList, StatusListKind
from openissuer.errors import ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.services.access import ISSUERS, READERS_AND_ISSUERS, authorize
from openissuer.services.compact_codec import CompactCredentialCodec
from openissuer.services.credential_status import change_status
from openissuer.services.did_keys import DidKeyService
from openissuer.services.tenancy import TenantDirectory, WalletTenant

LIST_LIFETIME = timedelta(days=1)
"""A list document's ``exp`` is this long after its ``iat``; verifiers must fetch a newer one after."""
REBUILD_AFTER = timedelta(hours=1)
CACHE_CONTROL = "public, max-age=300"
_CACHED_DOCUMENTS = 128


@dataclass(frozen=True)
class RevocationListSummary:
    """A list as the management API shows it."""

    list: StatusList
    url: str
    revoked: int


@dataclass(frozen=True)
class _Built:
    revision: int
    issued_at: datetime
    document: bytes


class RevocationListService:
    """Revocation status of compact credentials and the documents of their lists."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        tenants: TenantDirectory,
        did_keys: DidKeyService,
        codec: CompactCredentialCodec,
        kind: StatusListKind,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._tenants = tenants
        self._did_keys = did_keys
        self._codec = codec
        self._kind = kind
        self._built: OrderedDict[str, _Built] = OrderedDict()

    @property
    def kind(self) -> StatusListKind:
        """The kind of list this service publishes."""
        return self._kind

    async def status_as(self, principal: ManagementPrincipal, credential_id: str) -> bool:
        """Tell whether the caller's tenant's revocable credential is revoked."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            return (await self._revocable(uow, principal.tenant_id, credential_id)).status == REVOKED

    async def set_status_as(self, principal: ManagementPrincipal, credential_id: str, revoked: bool) -> bool:
        """Revoke (``True``) or un-revoke a revocable credential of the caller's tenant; return the new state."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            record = await self._revocable(uow, principal.tenant_id, credential_id)
            status = REVOKED if revoked else VALID
            if await change_status(uow, record, status, now=self._clock.now(), client_id=principal.client_id):
                await uow.commit()
        return revoked

    async def list_as(
        self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None
    ) -> Page[RevocationListSummary]:
        """List the caller's tenant's revocation lists with their revoked counts."""
        authorize(principal, READERS_AND_ISSUERS)
        tenant = await self._tenants.by_id(principal.tenant_id)
        async with self._uow(read_only=True) as uow:
            page = await uow.status_lists.list(principal.tenant_id, self._kind.name, limit=limit, after=after)
            items = [
                RevocationListSummary(
                    s,
                    self._kind.list_url(tenant.issuer, s.id),
                    len(await uow.status_lists.indexes_with_status(principal.tenant_id, s.id, REVOKED)),
                )
                for s in page.items
            ]
        return Page(items=items, next_key=page.next_key)

    async def is_revoked(self, tenant_id: str, list_id: str, index: int) -> bool | None:
        """Tell whether entry ``index`` of the tenant's list is revoked (None: the tenant has no such list)."""
        async with self._uow(read_only=True) as uow:
            found = await uow.status_lists.get(tenant_id, list_id)
            if found is None or found.kind != self._kind.name:
                return None
            return await uow.status_lists.entry_status(tenant_id, list_id, index) == REVOKED

    async def document(self, tenant: WalletTenant, list_id: str) -> bytes:
        """Return the signed list document (public); NotFoundError for a list the tenant does not have."""
        now = self._clock.now()
        async with self._uow(read_only=True) as uow:
            found = await uow.status_lists.get(tenant.id, list_id)
            if found is None or found.kind != self._kind.name:
                detail = ErrorDetail("params", "listId", "Resource Not Found", list_id)
                raise NotFoundError("Resource Not Found", details=[detail])
            built = self._built.get(list_id)
            if built is not None and built.revision == found.revision and now - built.issued_at < REBUILD_AFTER:
                return built.document
            revoked = await uow.status_lists.indexes_with_status(tenant.id, list_id, REVOKED)
        expires_at = now + LIST_LIFETIME
        signer = await self._did_keys.current_signer(tenant.id, expires_at)
        document = self._codec.sign_revocation_list(
            signer.signer, self._kind.list_url(tenant.issuer, list_id), now, expires_at, found.size, revoked
        )
        self._built[list_id] = _Built(found.revision, now, document)
        self._built.move_to_end(list_id)
        while len(self._built) > _CACHED_DOCUMENTS:
            self._built.popitem(last=False)
        return document

    async def _revocable(self, uow: UnitOfWork, tenant_id: str, credential_id: str) -> IssuedCredentialRecord:
        record = await uow.issued_credentials.get(tenant_id, credential_id)
        if record is None or record.profile != self._codec.profile:
            raise NotFoundError("Resource Not Found", details=[ErrorDetail("params", "id", "Resource Not Found")])
        if record.status_reference is None:
            raise ValidationError(
                "The credential is not revocable",
                details=[ErrorDetail("params", "id", "was not issued as a revocable credential", credential_id)],
            )
        return record
