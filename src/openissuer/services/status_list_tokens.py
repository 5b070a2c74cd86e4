"""IETF Token Status Lists published (reference §10.1): each list's signed token, the distribution of a tenant's
lists, and the management views of them. One service per kind of list (mDocs: CWT form; SD-JWT VCs: JWT form).

Serving a token reads the list's head (kind, scope, revision: one primary-key statement, driver-level) and returns
the token this process signed for that revision, while it is younger than its ``ttl`` and the tenant's configuration
version (read in the same statement) has not moved: deactivating the list's IACA or rotating a signer is seen at the
next request, by every worker. A status change raises the list's revision in its transaction
(``services/credential_status.py``), so every worker re-signs from its next request; the tenant's configuration
version is not raised, which would make every process reload every cache of the tenant (configurations, signers,
metadata) on each revocation, and the hot path would pay for it.

A token is signed by a status list signer certified by the IACA the list belongs to (the one that certified its
credentials' signers, ISO/IEC 18013-5 2nd edition), created and rotated like document signers; its ``sub`` is the
list's URI, its ``exp`` and ``ttl`` come from the status list configuration of the list's credential type (or the
defaults). A list whose IACA is no longer active and valid cannot be signed: its token is 404 and it leaves the
distribution.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from openissuer.crypto.base64url import encode_base64url
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.status_list_configurations import DEFAULT_EXPIRY, DEFAULT_TIME_TO_LIVE
from openissuer.domain.status_lists import STATUS_VALUES, StatusList, StatusListHead, StatusListKind
from openissuer.errors import CredentialRequestDeniedError, ErrorDetail, NotFoundError
from openissuer.ports.clock import Clock
from openissuer.ports.status_lists import StatusListStore
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.protocol.token_status_list import JWT_MEDIA_TYPE, StatusListToken, create_status_list_token
from openissuer.services.access import READERS_AND_ISSUERS, authorize
from openissuer.services.document_signers import StatusListSignerService
from openissuer.services.tenancy import TenantDirectory

log = logging.getLogger("openissuer.status_lists")
MAX_HTTP_AGE = 300
"""Shared caches (CDNs) keep a token at most this long (seconds): a change reaches them within 5 minutes; the
token's own ``ttl`` tells verifiers how long they may keep it."""
_CACHED_TOKENS = 256
_PAGE = 1000


@dataclass(frozen=True)
class SignedToken:
    """A list's token as served: its bytes, its strong ETag, when this process re-signs it at the latest, and the
    IACA its signer is certified by. ``config_version`` is the tenant's configuration version its signer was chosen
    under: a later one (an IACA deactivated, a signer rotated) makes the token stale."""

    list_id: str
    revision: int
    body: bytes
    etag: str
    issued_at: datetime
    refresh_at: datetime
    authority_id: str
    config_version: int = 0

    def max_age(self, now: datetime) -> int:
        """Seconds a shared cache may keep this token from ``now``."""
        return max(0, min(MAX_HTTP_AGE, int((self.refresh_at - now).total_seconds())))


@dataclass(frozen=True)
class StatusListView:
    """A list as the management API shows it: its configuration (None: the defaults apply) and its token (None
    while it cannot be signed)."""

    list: StatusList
    url: str
    configuration_id: str | None
    token: SignedToken | None


class StatusListTokenService:
    """Sign, cache and serve the tokens of one kind of IETF Token Status List (``kind.media_type`` set)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: StatusListStore,
        clock: Clock,
        tenants: TenantDirectory,
        signers: StatusListSignerService,
        kind: StatusListKind,
        profile: str,
    ) -> None:
        if kind.media_type is None:
            raise ValueError("a status list token service needs a kind with a token media type")
        self._uow = uow_factory
        self._store = store
        self._clock = clock
        self._tenants = tenants
        self._signers = signers
        self._kind = kind
        self._media_type = kind.media_type
        self.profile = profile
        self._tokens: OrderedDict[str, SignedToken] = OrderedDict()
        self._signing = asyncio.Lock()

    @property
    def kind(self) -> StatusListKind:
        """The kind of list this service publishes."""
        return self._kind

    @property
    def media_type(self) -> str:
        """The token's media type (the response's Content-Type)."""
        return self._media_type

    async def token(self, tenant_id: str, list_id: str) -> SignedToken:
        """Return the list's current token (public); NotFoundError for a list the tenant does not have, or one that
        cannot be signed now."""
        head = await self._store.head(tenant_id, list_id)
        if head is None or head.kind != self._kind.name:
            raise _not_found(list_id)
        found = self._fresh(head)
        if found is not None:
            return found
        async with self._signing:  # one signature per change per process, however many requests wait for it
            head = await self._store.head(tenant_id, list_id) or head
            return self._fresh(head) or await self._sign(tenant_id, head)

    async def distribution(self, tenant_id: str) -> list[str]:
        """Return the URIs of the tenant's lists that can be signed now (public, reference §10.1)."""
        tenant = await self._tenants.by_id(tenant_id)
        now = self._clock.now()
        urls: list[str] = []
        async with self._uow(read_only=True) as uow:
            usable = {
                i.id for i in await uow.iacas.list_active(tenant_id) if i.data.not_before <= now < i.data.not_after
            }
            after: PageKey | None = None
            while True:
                page = await uow.status_lists.list(tenant_id, self._kind.name, limit=_PAGE, after=after)
                urls += [self._kind.list_url(tenant.issuer, s.id) for s in page.items if s.authority_id in usable]
                if page.next_key is None:
                    return urls
                after = page.next_key

    async def list_as(
        self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None
    ) -> Page[StatusListView]:
        """List the caller's tenant's lists of this kind, each with its current token."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            page = await uow.status_lists.list(principal.tenant_id, self._kind.name, limit=limit, after=after)
        return Page(items=[await self._view(principal.tenant_id, s) for s in page.items], next_key=page.next_key)

    async def get_as(self, principal: ManagementPrincipal, list_id: str) -> StatusListView:
        """Return one of the caller's tenant's lists with its current token."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            found = await uow.status_lists.get(principal.tenant_id, list_id)
        if found is None or found.kind != self._kind.name:
            raise _not_found(list_id, param="statusListId")
        return await self._view(principal.tenant_id, found)

    async def _view(self, tenant_id: str, found: StatusList) -> StatusListView:
        tenant = await self._tenants.by_id(tenant_id)
        async with self._uow(read_only=True) as uow:
            configuration = await uow.status_list_configurations.find(tenant_id, self.profile, found.credential_type)
        try:
            token: SignedToken | None = await self.token(tenant_id, found.id)
        except NotFoundError:
            token = None
        return StatusListView(
            found,
            self._kind.list_url(tenant.issuer, found.id),
            None if configuration is None else configuration.id,
            token,
        )

    def _fresh(self, head: StatusListHead) -> SignedToken | None:
        found = self._tokens.get(head.id)
        if (
            found is None
            or found.revision != head.revision
            or found.config_version != head.config_version
            or self._clock.now() >= found.refresh_at
        ):
            return None
        return found

    async def _sign(self, tenant_id: str, head: StatusListHead) -> SignedToken:
        tenant = await self._tenants.by_id(tenant_id)
        async with self._uow(read_only=True) as uow:
            version = await uow.tenants.get_config_version(tenant_id) or 0
            configuration = await uow.status_list_configurations.find(tenant_id, self.profile, head.credential_type)
            entries = await uow.status_lists.entries(tenant_id, head.id)
        time_to_live = DEFAULT_TIME_TO_LIVE if configuration is None else configuration.time_to_live
        expiry = DEFAULT_EXPIRY if configuration is None else configuration.expiry
        now = self._clock.now().replace(microsecond=0)
        expires_at = expiry.add_to(now)
        refresh_at = min(time_to_live.add_to(now), expires_at)
        try:
            signer = await self._signers.signer_under(tenant_id, version, head.authority_id, expires_at)
            async with self._uow(read_only=True) as uow:
                moved = await uow.tenants.get_config_version(tenant_id) or 0
            if moved != version:
                # Creating the list's first signer raised the version, or a change came meanwhile: choose under the
                # newer state, so the token is cached for the version it is valid for (not re-signed next request).
                version = moved
                signer = await self._signers.signer_under(tenant_id, version, head.authority_id, expires_at)
        except CredentialRequestDeniedError as exc:
            log.warning("status list not signed", extra={"list_id": head.id, "reason": exc.detail or exc.description})
            raise _not_found(head.id) from exc
        uri = self._kind.list_url(tenant.issuer, head.id)
        issuer = tenant.issuer if self._media_type == JWT_MEDIA_TYPE else None
        token = StatusListToken(uri, now, expires_at, int((refresh_at - now).total_seconds()), issuer)
        values = _values(entries)
        body = create_status_list_token(self._media_type, token, head.size, values, signer.signer)
        signed = SignedToken(
            list_id=head.id,
            revision=head.revision,
            body=body,
            etag=f'"{encode_base64url(hashlib.sha256(body).digest()[:18])}"',
            issued_at=now,
            refresh_at=refresh_at,
            authority_id=head.authority_id,
            config_version=version,
        )
        self._tokens[head.id] = signed
        self._tokens.move_to_end(head.id)
        while len(self._tokens) > _CACHED_TOKENS:
            self._tokens.popitem(last=False)
        return signed


def encode_token_text(token: SignedToken, media_type: str) -> str:
    """The token as text for a JSON view: a JWT as it is, a CWT in base64."""
    if media_type == JWT_MEDIA_TYPE:
        return token.body.decode("ascii")
    return base64.b64encode(token.body).decode("ascii")


def _values(entries: Mapping[int, str]) -> dict[int, int]:
    return {index: STATUS_VALUES[status] for index, status in entries.items() if STATUS_VALUES.get(status)}


def _not_found(list_id: str, param: str = "statusListId") -> NotFoundError:
    return NotFoundError("Resource Not Found", details=[ErrorDetail("params", param, "Resource Not Found", list_id)])
