"""``/v1/config/tenant``: the tenant's own defaults (``services/tenant_settings.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from openissuer.domain.tenant_settings import TenantSettings
from openissuer.services.tenant_settings import TenantSettingsInput
from openissuer.web.deps import ContainerDep, PrincipalDep

router = APIRouter(prefix="/v1/config/tenant", tags=["Tenant settings"])


class TenantSettingsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    defaultCountry: str | None = Field(  # noqa: N815
        None,
        description="ISO 3166-1 alpha-2: the country of IACAs created without one (the reference derives it "
        "from the tenant's region).",
    )
    credentialOfferEndpoint: str | None = Field(  # noqa: N815
        None,
        description="Where offer URIs point (OID4VCI §4.1 the wallet's credential_offer_endpoint): "
        "`openid-credential-offer://` (default), a wallet's private scheme (`com.example.wallet://`) or a claimed "
        "https link (`https://wallet.example.com/offer`). An offer may name its own.",
    )


class TenantSettingsOut(TenantSettingsBody):
    updatedAt: datetime | None = None  # noqa: N815


def _out(settings: TenantSettings) -> dict[str, Any]:
    return {
        "defaultCountry": settings.default_country,
        "credentialOfferEndpoint": settings.credential_offer_endpoint,
        "updatedAt": settings.updated_at,
    }


def tenant_settings_input(body: TenantSettingsBody) -> TenantSettingsInput:
    """The service's input of a PUT body."""
    return TenantSettingsInput(
        default_country=body.defaultCountry, credential_offer_endpoint=body.credentialOfferEndpoint
    )


@router.get("", response_model=TenantSettingsOut, response_model_exclude_none=True, summary="The tenant's settings")
async def get_tenant_settings(principal: PrincipalDep, container: ContainerDep) -> Any:
    return _out(await container.tenant_settings.get_as(principal))


@router.put(
    "",
    response_model=TenantSettingsOut,
    response_model_exclude_none=True,
    summary="Replace the tenant's settings (admin, issuer); an omitted field is cleared",
)
async def put_tenant_settings(body: TenantSettingsBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return _out(await container.tenant_settings.replace_as(principal, tenant_settings_input(body)))
