"""``/v2/credentials/mobile/configurations``: mDoc credential configurations (reference platform §4.2)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from openissuer.domain.durations import Duration
from openissuer.domain.mdoc import Branding, MobileCredentialConfiguration
from openissuer.services.mdoc_configurations import MobileConfigurationInput
from openissuer.web.deps import ContainerDep, PrincipalDep
from openissuer.web.pagination import PageParams, render_page

router = APIRouter(prefix="/v2/credentials/mobile/configurations", tags=["mDoc configurations"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DurationBody(_Strict):
    """Any combination of units; calendar units (years, months) follow the calendar."""

    years: int = Field(0, ge=0, le=100)
    months: int = Field(0, ge=0, le=1200)
    weeks: int = Field(0, ge=0, le=5300)
    days: int = Field(0, ge=0, le=36600)
    hours: int = Field(0, ge=0, le=878400)
    minutes: int = Field(0, ge=0, le=52704000)
    seconds: int = Field(0, ge=0, le=3162240000)


class MapFromBody(_Strict):
    mapFrom: str = Field(min_length=1, description="A claim path, e.g. `claims.expiry_date`.")  # noqa: N815


class BrandingBody(_Strict):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=1000)
    backgroundColor: str | None = Field(None, description="#RRGGBB")  # noqa: N815
    watermarkImage: str | None = Field(None, description="data:image/png;base64,…")  # noqa: N815
    issuerLogo: str | None = Field(None, description="https URL or data:image/… URI")  # noqa: N815
    issuerIcon: str | None = Field(None, description="data:image/svg+xml;base64,…")  # noqa: N815


class MobileConfigurationBody(_Strict):
    type: str = Field(min_length=1, max_length=1024, description="The mDoc docType, unique in the tenant.")
    claimMappings: dict[str, Any] = Field(  # noqa: N815
        description="`{namespace: {elementIdentifier: {mapFrom, type, required, defaultValue}}}`"
    )
    expiresIn: DurationBody  # noqa: N815
    validFrom: MapFromBody | None = None  # noqa: N815
    validUntil: MapFromBody | None = None  # noqa: N815
    claimSourceId: str | None = None  # noqa: N815
    includeStatus: bool = False  # noqa: N815
    branding: BrandingBody | None = None


class DurationOut(BaseModel):
    years: int | None = None
    months: int | None = None
    weeks: int | None = None
    days: int | None = None
    hours: int | None = None
    minutes: int | None = None
    seconds: int | None = None


class MobileConfigurationOut(MobileConfigurationBody):
    model_config = ConfigDict(extra="forbid")
    id: str
    expiresIn: DurationOut  # type: ignore[assignment]  # noqa: N815 - only the units that were given


class MobileConfigurationPage(BaseModel):
    data: list[MobileConfigurationOut]
    nextCursor: str | None = None  # noqa: N815


def _input(body: MobileConfigurationBody) -> MobileConfigurationInput:
    branding = body.branding
    return MobileConfigurationInput(
        doctype=body.type,
        claim_mappings=body.claimMappings,
        expires_in=Duration(**body.expiresIn.model_dump()),
        valid_from_path=body.validFrom.mapFrom if body.validFrom else None,
        valid_until_path=body.validUntil.mapFrom if body.validUntil else None,
        claim_source_id=body.claimSourceId,
        include_status=body.includeStatus,
        branding=None
        if branding is None
        else Branding(
            name=branding.name,
            description=branding.description,
            background_color=branding.backgroundColor,
            watermark_image=branding.watermarkImage,
            issuer_logo=branding.issuerLogo,
            issuer_icon=branding.issuerIcon,
        ),
    )


def render_configuration(c: MobileCredentialConfiguration) -> dict[str, Any]:
    """Return the API form of a configuration: the request fields plus ``id``."""
    body: dict[str, Any] = {
        "id": c.id,
        "type": c.doctype,
        "claimMappings": c.claim_mappings,
        "expiresIn": c.expires_in.to_dict(),
        "includeStatus": c.include_status,
    }
    if c.valid_from_path is not None:
        body["validFrom"] = {"mapFrom": c.valid_from_path}
    if c.valid_until_path is not None:
        body["validUntil"] = {"mapFrom": c.valid_until_path}
    if c.claim_source_id is not None:
        body["claimSourceId"] = c.claim_source_id
    if c.branding is not None:
        b = c.branding
        fields = {
            "name": b.name,
            "description": b.description,
            "backgroundColor": b.background_color,
            "watermarkImage": b.watermark_image,
            "issuerLogo": b.issuer_logo,
            "issuerIcon": b.issuer_icon,
        }
        body["branding"] = {k: v for k, v in fields.items() if v is not None}
    return body


@router.post(
    "",
    status_code=201,
    response_model=MobileConfigurationOut,
    response_model_exclude_none=True,
    summary="Create an mDoc configuration (admin, issuer)",
)
async def create_configuration(body: MobileConfigurationBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_configuration(await container.mobile_configurations.create_as(principal, _input(body)))


@router.get(
    "", response_model=MobileConfigurationPage, response_model_exclude_none=True, summary="List mDoc configurations"
)
async def list_configurations(
    principal: PrincipalDep,
    container: ContainerDep,
    page_params: Annotated[PageParams, Depends()],
    type: Annotated[str | None, Query(description="Only configurations of this docType.")] = None,
) -> Any:
    page = await container.mobile_configurations.list_as(
        principal, limit=page_params.limit, after=page_params.after, doctype=type
    )
    return render_page(page, [render_configuration(c) for c in page.items])


@router.get(
    "/{id}",
    response_model=MobileConfigurationOut,
    response_model_exclude_none=True,
    summary="Retrieve an mDoc configuration",
)
async def get_configuration(id: str, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_configuration(await container.mobile_configurations.get_as(principal, id))


@router.put(
    "/{id}",
    response_model=MobileConfigurationOut,
    response_model_exclude_none=True,
    summary="Replace an mDoc configuration (the full body)",
)
async def replace_configuration(
    id: str, body: MobileConfigurationBody, principal: PrincipalDep, container: ContainerDep
) -> Any:
    return render_configuration(await container.mobile_configurations.replace_as(principal, id, _input(body)))


@router.delete("/{id}", status_code=204, summary="Delete an mDoc configuration")
async def delete_configuration(id: str, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.mobile_configurations.delete_as(principal, id)
    return Response(status_code=204)
