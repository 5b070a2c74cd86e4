"""A tenant's own defaults (``/v1/config/tenant``): the IACA country and the wallet's Credential Offer Endpoint.

The reference platform derives the IACA country from the tenant's region (§8.2) and leaves offer delivery to the
issuer's backend (§11.1); openissuer keeps both as per-tenant settings an admin or issuer sets once.
"""

from __future__ import annotations

from dataclasses import dataclass

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.countries import is_country_code
from openissuer.domain.tenant_settings import TenantSettings
from openissuer.errors import ErrorDetail, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.protocol.offer_delivery import verify_credential_offer_endpoint
from openissuer.services.access import ISSUERS, READERS_AND_OPERATORS, authorize


@dataclass(frozen=True)
class TenantSettingsInput:
    """A replace request (every field optional; None clears it)."""

    default_country: str | None = None
    credential_offer_endpoint: str | None = None


def find_credential_offer_endpoint_problem(param: str, endpoint: str | None) -> ErrorDetail | None:
    """Return the error detail of an unusable Credential Offer Endpoint (None when it is usable or absent)."""
    problem = None if endpoint is None else verify_credential_offer_endpoint(endpoint)
    return None if problem is None else ErrorDetail("body", param, problem, endpoint)


class TenantSettingsService:
    """Read and replace the caller's tenant's settings."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def get_as(self, principal: ManagementPrincipal) -> TenantSettings:
        """Return the settings (defaults when never set)."""
        authorize(principal, READERS_AND_OPERATORS)
        return await self.settings_of(principal.tenant_id)

    async def settings_of(self, tenant_id: str) -> TenantSettings:
        """Return a tenant's settings (for the services that apply them)."""
        async with self._uow(read_only=True) as uow:
            return await uow.tenant_settings.get(tenant_id)

    async def replace_as(self, principal: ManagementPrincipal, data: TenantSettingsInput) -> TenantSettings:
        """Replace the settings (admin, issuer)."""
        authorize(principal, ISSUERS)
        details: list[ErrorDetail] = []
        if data.default_country is not None and not is_country_code(data.default_country):
            details.append(
                ErrorDetail(
                    "body", "defaultCountry", "must be an ISO 3166-1 alpha-2 code, e.g. NZ", data.default_country
                )
            )
        endpoint_problem = find_credential_offer_endpoint_problem(
            "credentialOfferEndpoint", data.credential_offer_endpoint
        )
        if endpoint_problem is not None:
            details.append(endpoint_problem)
        if details:
            raise ValidationError("Validation Error", details=details)
        settings = TenantSettings(
            tenant_id=principal.tenant_id,
            default_country=data.default_country,
            credential_offer_endpoint=data.credential_offer_endpoint,
            updated_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.tenant_settings.put(settings)
            await uow.commit()
        return settings
