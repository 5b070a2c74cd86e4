"""mDoc credential configurations (reference platform §4.2): create, list, read, replace, delete."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openissuer.claims import CONTEXT_ROOTS, ClaimMappings, parse_claim_mappings, parse_claim_path
from openissuer.claims.path import ClaimPathSyntaxError
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.durations import Duration
from openissuer.domain.ids import new_id
from openissuer.domain.mdoc import Branding, MobileCredentialConfiguration
from openissuer.domain.pages import Page, PageKey
from openissuer.errors import ErrorDetail, NotFoundError, ValidationError
from openissuer.formats import base as fmt
from openissuer.formats.mso_mdoc import MsoMdocFormat
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.access import ISSUERS, READERS_AND_ISSUERS, authorize

_WATERMARK = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
_ICON = re.compile(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+")


@dataclass(frozen=True)
class MobileConfigurationInput:
    """The fields of a create or replace request, already shaped by the web layer (``type`` → ``doctype``)."""

    doctype: str
    claim_mappings: dict[str, Any]
    expires_in: Duration
    valid_from_path: str | None = None
    valid_until_path: str | None = None
    claim_source_id: str | None = None
    include_status: bool = False
    branding: Branding | None = None


def parse_mdoc_mappings(configuration: MobileCredentialConfiguration) -> ClaimMappings:
    """Parse a stored configuration's claim mappings (validated when it was saved)."""
    return parse_claim_mappings(configuration.claim_mappings, namespaced=True)


def to_format_configuration(
    configuration: MobileCredentialConfiguration, mappings: ClaimMappings, now: datetime
) -> fmt.FormatConfiguration:
    """Return what the mso_mdoc format needs; ``expiresIn`` becomes the span it covers from ``now``."""
    branding = configuration.branding
    return fmt.FormatConfiguration(
        credential_type=configuration.doctype,
        claims=tuple(
            fmt.ClaimDescription(path=(m.namespace or "", m.claim), mandatory=m.required) for m in mappings.mappings
        ),
        expires_in=configuration.expires_in.add_to(now) - now,
        branding=None
        if branding is None
        else fmt.Branding(
            name=branding.name if branding.name is not None else configuration.doctype,
            description=branding.description,
            background_color=branding.background_color,
            logo_uri=branding.issuer_logo,
            background_image_uri=branding.watermark_image,
        ),
    )


class MobileConfigurationService:
    """Manage a tenant's mDoc configurations; every rule is checked before anything is stored."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, mdoc_format: MsoMdocFormat) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._format = mdoc_format

    def _validate(self, data: MobileConfigurationInput) -> ClaimMappings:
        """Check every rule of reference §4.2 and raise one ValidationError listing all problems."""
        details: list[ErrorDetail] = []
        mappings: ClaimMappings | None = None
        try:
            mappings = parse_claim_mappings(data.claim_mappings, namespaced=True)
        except ValidationError as exc:
            details += exc.details
        for param, path in (("validFrom.mapFrom", data.valid_from_path), ("validUntil.mapFrom", data.valid_until_path)):
            try:
                if path is not None and parse_claim_path(path)[0] not in CONTEXT_ROOTS:
                    roots = ", ".join(sorted(CONTEXT_ROOTS))
                    details.append(ErrorDetail("body", param, f"must start with one of {roots}", path))
            except ClaimPathSyntaxError as exc:
                details.append(ErrorDetail("body", param, exc.description, path))
        if data.expires_in.is_zero():
            details.append(ErrorDetail("body", "expiresIn", "must be a positive duration"))
        if data.claim_source_id is not None:
            details.append(ErrorDetail("body", "claimSourceId", "no claims source with this id", data.claim_source_id))
        if data.include_status:
            details.append(
                ErrorDetail("body", "includeStatus", "revocable mDocs need status lists, which this issuer lacks")
            )
        details += _branding_problems(data.branding)
        if mappings is not None:
            details += _untyped_mapped_claims(mappings)
            details += self._format_problems(data, mappings)
        if details or mappings is None:
            raise ValidationError("Validation Error", details=details)
        return mappings

    def _format_problems(self, data: MobileConfigurationInput, mappings: ClaimMappings) -> list[ErrorDetail]:
        now = self._clock.now()
        probe = _build("", "", data, now, now)
        try:
            self._format.validate_configuration(to_format_configuration(probe, mappings, now))
        except ValidationError as exc:
            return list(exc.details)
        return []

    async def create_as(
        self, principal: ManagementPrincipal, data: MobileConfigurationInput
    ) -> MobileCredentialConfiguration:
        """Create a configuration in the caller's tenant (admin, issuer)."""
        authorize(principal, ISSUERS)
        self._validate(data)
        now = self._clock.now()
        configuration = _build(new_id(), principal.tenant_id, data, now, now)
        async with self._uow() as uow:
            await uow.mobile_configurations.add(configuration)
            await uow.commit()
        return configuration

    async def replace_as(
        self, principal: ManagementPrincipal, id: str, data: MobileConfigurationInput
    ) -> MobileCredentialConfiguration:
        """Replace every field of a configuration (PUT takes the full body)."""
        authorize(principal, ISSUERS)
        self._validate(data)
        async with self._uow() as uow:
            existing = await uow.mobile_configurations.get(principal.tenant_id, id)
            if existing is None:
                raise NotFoundError.for_id(id)
            configuration = _build(id, principal.tenant_id, data, existing.created_at, self._clock.now())
            await uow.mobile_configurations.update(configuration)
            await uow.commit()
        return configuration

    async def get_as(self, principal: ManagementPrincipal, id: str) -> MobileCredentialConfiguration:
        """Return one of the caller's tenant's configurations."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            configuration = await uow.mobile_configurations.get(principal.tenant_id, id)
        if configuration is None:
            raise NotFoundError.for_id(id)
        return configuration

    async def list_as(
        self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None, doctype: str | None
    ) -> Page[MobileCredentialConfiguration]:
        """List the caller's tenant's configurations, optionally of one ``type``."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            return await uow.mobile_configurations.list(principal.tenant_id, limit=limit, after=after, doctype=doctype)

    def credential_configuration_entry(self, configuration: MobileCredentialConfiguration) -> dict[str, Any]:
        """Return the configuration's ``credential_configurations_supported`` entry, with ``scope`` = its docType.

        OID4VCI 1.0 §12.2.4: ``scope`` lets a wallet request this credential in the Authorization Code flow; the
        docType is unique in the tenant, so it identifies the configuration.
        """
        now = self._clock.now()
        format_config = to_format_configuration(configuration, parse_mdoc_mappings(configuration), now)
        return {**self._format.metadata(format_config), "scope": configuration.doctype}

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete a configuration; credentials already issued from it stay valid."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            deleted = await uow.mobile_configurations.delete(principal.tenant_id, id)
            await uow.commit()
        if not deleted:
            raise NotFoundError.for_id(id)


def _build(
    id: str, tenant_id: str, data: MobileConfigurationInput, created_at: datetime, updated_at: datetime
) -> MobileCredentialConfiguration:
    return MobileCredentialConfiguration(
        id=id,
        tenant_id=tenant_id,
        doctype=data.doctype,
        claim_mappings=data.claim_mappings,
        expires_in=data.expires_in,
        valid_from_path=data.valid_from_path,
        valid_until_path=data.valid_until_path,
        claim_source_id=data.claim_source_id,
        include_status=data.include_status,
        branding=data.branding,
        created_at=created_at,
        updated_at=updated_at,
    )


def _untyped_mapped_claims(mappings: ClaimMappings) -> list[ErrorDetail]:
    """Reference §4.3: in an mDoc mapping, ``type`` "is required when mapFrom is used"."""
    return [
        ErrorDetail("body", f"claimMappings.{m.namespace}.{m.claim}.type", "is required when mapFrom is used")
        for m in mappings.mappings
        if m.map_from is not None and m.claim_type is None
    ]


def _branding_problems(branding: Branding | None) -> list[ErrorDetail]:
    if branding is None:
        return []
    problems = []
    if branding.watermark_image is not None and not _WATERMARK.fullmatch(branding.watermark_image):
        problems.append(ErrorDetail("body", "branding.watermarkImage", "must be a data:image/png;base64 URI"))
    if branding.issuer_icon is not None and not _ICON.fullmatch(branding.issuer_icon):
        problems.append(ErrorDetail("body", "branding.issuerIcon", "must be a data:image/svg+xml;base64 URI"))
    return problems
