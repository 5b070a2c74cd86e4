"""Credential configurations of every format (reference platform §4): management, and the per-tenant catalog the
wallet side issues and publishes metadata from.

One service serves every format's management resource (``/v2/credentials/<profile>/configurations``); what differs
between formats comes from the format plugin: the shape of its fields (``ConfigurationSchema``) and its own rules
(``validate_configuration``). The catalog holds each tenant's configurations prepared for issuance (mappings
parsed, metadata entries built) per configuration version.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from openissuer.claims import CONTEXT_ROOTS, MISSING, ClaimMappings, parse_claim_mappings, parse_claim_path
from openissuer.claims.claim_type import describe_json_type
from openissuer.claims.path import ClaimPathSyntaxError
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.branding import Branding
from openissuer.domain.claim_sources import ClaimSource
from openissuer.domain.configurations import CredentialConfiguration
from openissuer.domain.durations import Duration
from openissuer.domain.events import CONFIGURATION_CREATED, CONFIGURATION_DELETED, CONFIGURATION_UPDATED
from openissuer.domain.ids import new_id
from openissuer.domain.pages import Page, PageKey
from openissuer.errors import ConflictError, ErrorDetail, NotFoundError, ValidationError
from openissuer.formats.base import ClaimDescription, ClaimDisplay, CredentialFormat, FormatConfiguration
from openissuer.formats.credential_metadata import find_branding_problems, find_claim_description_problems
from openissuer.formats.registry import FormatRegistry, UnknownFormatError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.ports.wallet_store import WalletStore
from openissuer.services.access import ISSUERS, READERS_AND_OPERATORS, authorize
from openissuer.services.audit import configuration_event as _event
from openissuer.services.branding_images import BrandingImages
from openissuer.services.claim_sources import verify_claim_source_reference
from openissuer.services.versioned_cache import Versioned, VersionedCache

log = logging.getLogger("openissuer.configurations")


@dataclass(frozen=True)
class ConfigurationInput:
    """The fields of a create or replace request, as the web layer shaped them; ``options`` are the format's own
    fields under their wire names (absent ones get the format's defaults)."""

    credential_type: str
    claim_mappings: dict[str, Any]
    expires_in: Duration | None = None
    valid_from_path: str | None = None
    valid_until_path: str | None = None
    claim_source_id: str | None = None
    include_status: bool | None = None
    branding: Branding | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PreparedConfiguration:
    """A configuration ready to issue from: its format, its parsed mappings, what the format is given, and the
    claims source it names (None: none, or one that no longer exists)."""

    configuration: CredentialConfiguration
    format: CredentialFormat
    mappings: ClaimMappings
    claims: tuple[ClaimDescription, ...]
    claim_source: ClaimSource | None = None

    @property
    def context(self) -> dict[str, Any]:
        """What ``credentialConfiguration.*`` paths read (claim mappings and claims-source parameters)."""
        return {"id": self.configuration.id, "type": self.configuration.credential_type}

    def format_configuration(self, now: datetime, issuer: str = "") -> FormatConfiguration:
        """Return what the format needs; ``expiresIn`` becomes the span it covers from ``now`` (calendar units);
        ``issuer`` is the credential issuer identifier when a credential is being issued."""
        expires_in = self.configuration.expires_in
        return FormatConfiguration(
            credential_type=self.configuration.credential_type,
            claims=self.claims,
            expires_in=None if expires_in is None else expires_in.add_to(now) - now,
            branding=self.configuration.branding,
            include_status=self.configuration.include_status,
            options=self.configuration.options,
            issuer=issuer,
        )


def prepare_configuration(
    configuration: CredentialConfiguration,
    credential_format: CredentialFormat,
    claim_source: ClaimSource | None = None,
) -> PreparedConfiguration:
    """Parse a stored configuration's mappings (validated when it was saved) for its format."""
    mappings = parse_format_claim_mappings(configuration.claim_mappings, credential_format)
    return PreparedConfiguration(configuration, credential_format, mappings, describe_claims(mappings), claim_source)


def parse_format_claim_mappings(raw: object, credential_format: CredentialFormat) -> ClaimMappings:
    """Parse ``claimMappings`` the way the format's schema shapes them (namespaces, claim paths, flags)."""
    schema = credential_format.schema
    return parse_claim_mappings(
        raw, namespaced=schema.claims_namespaced, claim_paths=schema.claim_paths, flags=schema.claim_flags
    )


def describe_claims(mappings: ClaimMappings) -> tuple[ClaimDescription, ...]:
    """Return the claims a configuration issues, as formats see them."""
    return tuple(
        ClaimDescription(
            path=m.pointer,
            mandatory=m.required,
            display=tuple(ClaimDisplay(label.name, label.locale) for label in m.display),
            mapped=m.map_from is not None,
            value_type=None if m.claim_type is None else m.claim_type.value,
            flags=m.flags,
            flags_only=m.is_flag_entry,
            default_type=None if m.default_value is MISSING else describe_json_type(m.default_value),
        )
        for m in mappings.mappings
    )


@dataclass(frozen=True)
class TenantConfigurations:
    """One tenant's configurations at one configuration version, prepared for issuance and metadata."""

    by_id: Mapping[str, PreparedConfiguration]
    metadata_entries: Mapping[str, dict[str, Any]]
    scopes: Mapping[str, str]
    formats: tuple[CredentialFormat, ...]
    has_authentication_provider: bool
    scope_aliases: Mapping[str, str] = field(default_factory=dict)
    """Scopes accepted but not advertised (a format's bare scope) -> configuration id."""

    def issuer_metadata(self, issuer: str) -> dict[str, Any]:
        """Return the members the tenant's formats add to its issuer metadata (e.g. ``mdoc_iacas_uri``)."""
        members: dict[str, Any] = {}
        for credential_format in self.formats:
            members.update(credential_format.issuer_metadata(issuer))
        return members

    def get(self, configuration_id: str) -> PreparedConfiguration | None:
        """Return the prepared configuration with this id, or None."""
        return self.by_id.get(configuration_id)


class ConfigurationCatalog:
    """Every tenant's configurations prepared for the wallet side, cached per configuration version."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, store: WalletStore, clock: Clock, formats: FormatRegistry
    ) -> None:
        self._uow = uow_factory
        self._store = store
        self._clock = clock
        self._formats = formats
        self._cache: VersionedCache[TenantConfigurations] = VersionedCache(self._load)

    async def at_version(self, tenant_id: str, version: int) -> TenantConfigurations:
        """Return the tenant's configurations as of ``version`` or later (read together with a grant)."""
        return await self._cache.get(tenant_id, version)

    async def current(self, tenant_id: str) -> TenantConfigurations:
        """Return the tenant's current configurations (one statement reads the version; a cache hit reads nothing
        else)."""
        return await self._cache.get(tenant_id, await self._store.config_version(tenant_id) or 0)

    async def _load(self, tenant_id: str) -> Versioned[TenantConfigurations]:
        async with self._uow(read_only=True) as uow:
            version = await uow.tenants.get_config_version(tenant_id)  # before the data: see VersionedCache
            stored = await uow.credential_configurations.list_all(tenant_id)
            provider = await uow.authentication_providers.get_for_tenant(tenant_id)
            sources = {source.id: source for source in await uow.claim_sources.list_all(tenant_id)}
        by_id: dict[str, PreparedConfiguration] = {}
        for configuration in stored:
            if configuration.format not in self._formats:
                log.warning("configuration of an unregistered format skipped", extra={"format": configuration.format})
                continue
            source = sources.get(configuration.claim_source_id) if configuration.claim_source_id else None
            by_id[configuration.id] = prepare_configuration(
                configuration, self._formats.get(configuration.format), source
            )
        now = self._clock.now()
        entries: dict[str, dict[str, Any]] = {}
        scopes: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for configuration_id, prepared in by_id.items():
            format_config = prepared.format_configuration(now)
            scope = prepared.format.scope(format_config)
            # Reference §3.2: scopes are "<format>:<type>" (mso_mdoc:org.iso.18013.5.1.mDL); that form is
            # advertised, and the format's own (the bare type) is accepted too.
            prefix = f"{prepared.format.format_id}:"
            advertised = scope if scope.startswith(prefix) else prefix + scope
            entries[configuration_id] = {**prepared.format.metadata(format_config), "scope": advertised}
            scopes.setdefault(advertised, configuration_id)
            aliases.setdefault(scope, configuration_id)
        present = {p.format.format_id: p.format for p in by_id.values()}
        snapshot = TenantConfigurations(
            by_id=by_id,
            metadata_entries=entries,
            scopes=scopes,
            scope_aliases={alias: cid for alias, cid in aliases.items() if alias not in scopes},
            formats=tuple(present.values()),
            has_authentication_provider=provider is not None,
        )
        return Versioned(version or 0, snapshot)


class ConfigurationService:
    """Manage a tenant's credential configurations of every registered format; every rule is checked before
    anything is stored."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        formats: FormatRegistry,
        *,
        images: BrandingImages | None = None,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._formats = formats
        self._images = images

    async def _with_images(self, data: ConfigurationInput) -> ConfigurationInput:
        """Branding image URLs fetched and inlined (``services/branding_images.py``), once the rest is valid."""
        if self._images is None or data.branding is None:
            return data
        return replace(data, branding=await self._images.inline(data.branding))

    def format(self, format_id: str) -> CredentialFormat:
        """Return a registered format."""
        return self._formats.get(format_id)

    async def create_as(
        self, principal: ManagementPrincipal, format_id: str, data: ConfigurationInput
    ) -> CredentialConfiguration:
        """Create a configuration in the caller's tenant (admin, issuer)."""
        authorize(principal, ISSUERS)
        credential_format = self._formats.get(format_id)
        data = self._complete(credential_format, data)
        self._validate(credential_format, data)
        data = await self._with_images(data)
        now = self._clock.now()
        configuration = _build(new_id(), principal.tenant_id, format_id, data, now, now)
        async with self._uow() as uow:
            await verify_claim_source_reference(uow, principal.tenant_id, data.claim_source_id)
            try:
                await uow.credential_configurations.add(configuration)
            except ConflictError as exc:
                raise _type_conflict(credential_format, exc) from exc
            await uow.events.add(_event(CONFIGURATION_CREATED, principal, configuration, now))
            await uow.commit()
        return configuration

    async def replace_as(
        self, principal: ManagementPrincipal, format_id: str, id: str, data: ConfigurationInput
    ) -> CredentialConfiguration:
        """Replace every field of a configuration of this format (PUT takes the full body)."""
        authorize(principal, ISSUERS)
        credential_format = self._formats.get(format_id)
        data = self._complete(credential_format, data)
        self._validate(credential_format, data)
        data = await self._with_images(data)
        async with self._uow() as uow:
            existing = await uow.credential_configurations.get(principal.tenant_id, id)
            if existing is None or existing.format != format_id:
                raise NotFoundError.for_id(id)
            configuration = _build(id, principal.tenant_id, format_id, data, existing.created_at, self._clock.now())
            await verify_claim_source_reference(uow, principal.tenant_id, data.claim_source_id)
            try:
                await uow.credential_configurations.update(configuration)
            except ConflictError as exc:
                raise _type_conflict(credential_format, exc) from exc
            await uow.events.add(_event(CONFIGURATION_UPDATED, principal, configuration, self._clock.now()))
            await uow.commit()
        return configuration

    def preview_as(self, principal: ManagementPrincipal, format_id: str, data: ConfigurationInput) -> dict[str, Any]:
        """Return the entry a configuration would have in ``credential_configurations_supported`` (OID4VCI 1.0
        §12.2.4), after every rule create checks; nothing is stored (the portal's live preview)."""
        authorize(principal, ISSUERS)
        credential_format = self._formats.get(format_id)
        data = self._complete(credential_format, data)
        self._validate(credential_format, data)
        now = self._clock.now()
        probe = prepare_configuration(_build("", "", format_id, data, now, now), credential_format)
        return credential_format.metadata(probe.format_configuration(now))

    async def get_as(self, principal: ManagementPrincipal, format_id: str, id: str) -> CredentialConfiguration:
        """Return one of the caller's tenant's configurations of this format."""
        authorize(principal, READERS_AND_OPERATORS)
        async with self._uow(read_only=True) as uow:
            configuration = await uow.credential_configurations.get(principal.tenant_id, id)
        if configuration is None or configuration.format != format_id:
            raise NotFoundError.for_id(id)
        return configuration

    async def list_as(
        self,
        principal: ManagementPrincipal,
        format_id: str,
        *,
        limit: int,
        after: PageKey | None,
        credential_type: str | None = None,
    ) -> Page[CredentialConfiguration]:
        """List the caller's tenant's configurations of this format, optionally of one type."""
        authorize(principal, READERS_AND_OPERATORS)
        async with self._uow(read_only=True) as uow:
            return await uow.credential_configurations.list(
                principal.tenant_id, format=format_id, limit=limit, after=after, credential_type=credential_type
            )

    async def delete_as(self, principal: ManagementPrincipal, format_id: str, id: str) -> None:
        """Delete a configuration; credentials already issued from it stay valid."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            existing = await uow.credential_configurations.get(principal.tenant_id, id)
            if existing is None or existing.format != format_id:
                raise NotFoundError.for_id(id)
            await uow.credential_configurations.delete(principal.tenant_id, id)
            await uow.events.add(_event(CONFIGURATION_DELETED, principal, existing, self._clock.now()))
            await uow.commit()

    def _complete(self, credential_format: CredentialFormat, data: ConfigurationInput) -> ConfigurationInput:
        """Fill in the format's defaults: its status switch and its own options."""
        schema = credential_format.schema
        options = {name: option.default for name, option in schema.options.items() if option.default is not None}
        options.update({name: value for name, value in data.options.items() if value is not None})
        include_status = schema.status_default if data.include_status is None else data.include_status
        return replace(data, options=options, include_status=include_status)

    def _validate(self, credential_format: CredentialFormat, data: ConfigurationInput) -> None:
        """Check every rule and raise one ValidationError listing all problems."""
        schema = credential_format.schema
        details: list[ErrorDetail] = []
        mappings: ClaimMappings | None = None
        try:
            mappings = parse_format_claim_mappings(data.claim_mappings, credential_format)
        except ValidationError as exc:
            details += exc.details
        for param, path in (("validFrom.mapFrom", data.valid_from_path), ("validUntil.mapFrom", data.valid_until_path)):
            if path is None:
                continue
            if not schema.validity_mapping:
                details.append(ErrorDetail("body", param.partition(".")[0], "is not supported by this format"))
                continue
            try:
                if parse_claim_path(path)[0] not in CONTEXT_ROOTS:
                    roots = ", ".join(sorted(CONTEXT_ROOTS))
                    details.append(ErrorDetail("body", param, f"must start with one of {roots}", path))
            except ClaimPathSyntaxError as exc:
                details.append(ErrorDetail("body", param, exc.description, path))
        if data.expires_in is not None and data.expires_in.is_zero():
            details.append(ErrorDetail("body", "expiresIn", "must be a positive duration"))
        if data.include_status and schema.status_field is not None and schema.status_list is None:
            details.append(
                ErrorDetail(
                    "body", schema.status_field, "revocable credentials need status lists, which this issuer lacks"
                )
            )
        details += find_branding_problems(data.branding)
        if mappings is not None:
            now = self._clock.now()
            probe = prepare_configuration(
                _build("", "", credential_format.format_id, data, now, now), credential_format
            )
            format_config = probe.format_configuration(now)
            details += find_claim_description_problems(format_config)
            details += credential_format.validate_configuration(format_config)
        if details:
            raise ValidationError("Validation Error", details=details)


def _build(
    id: str, tenant_id: str, format_id: str, data: ConfigurationInput, created_at: datetime, updated_at: datetime
) -> CredentialConfiguration:
    return CredentialConfiguration(
        id=id,
        tenant_id=tenant_id,
        format=format_id,
        credential_type=data.credential_type,
        claim_mappings=data.claim_mappings,
        expires_in=data.expires_in,
        valid_from_path=data.valid_from_path,
        valid_until_path=data.valid_until_path,
        claim_source_id=data.claim_source_id,
        include_status=bool(data.include_status),
        branding=data.branding,
        options=dict(data.options),
        created_at=created_at,
        updated_at=updated_at,
    )


def _type_conflict(credential_format: CredentialFormat, error: ConflictError) -> ConflictError:
    """The storage's conflict on the type, under the format's wire name for it."""
    field_name = credential_format.schema.type_field
    details = [
        replace(
            d, param=field_name, msg=f"must be unique among the tenant's {credential_format.profile} configurations"
        )
        for d in error.details
    ]
    return ConflictError(error.description, details=details)


__all__ = [
    "ConfigurationCatalog",
    "ConfigurationInput",
    "ConfigurationService",
    "PreparedConfiguration",
    "TenantConfigurations",
    "UnknownFormatError",
    "prepare_configuration",
]
