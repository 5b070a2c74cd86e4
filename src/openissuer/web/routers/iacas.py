"""IACAs (reference platform §8.2): management under ``/v2/credentials/mobile/iacas``, public list and CRLs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from openissuer.crypto.certificate_info import encode_pem
from openissuer.domain.pki import PUBLIC_IACAS_PATH, Iaca
from openissuer.services.iacas import IacaInput
from openissuer.web.deps import ContainerDep, PrincipalDep, WalletTenantDep
from openissuer.web.pagination import PageParams, render_page

router = APIRouter(prefix="/v2/credentials/mobile/iacas", tags=["IACAs"])
public_router = APIRouter(tags=["IACAs (public)"])


class IacaCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. NZ.")
    commonName: str | None = Field(None, description="Default: '<public host> IACA'.")  # noqa: N815
    stateOrProvinceName: str | None = Field(None, description="ISO 3166-2 code, e.g. US-AL.")  # noqa: N815
    notBefore: AwareDatetime | None = Field(None, description="Default: now; not in the past.")  # noqa: N815
    notAfter: AwareDatetime | None = Field(None, description="Default: notBefore + 10 years; at most 20 years.")  # noqa: N815


class IacaUpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool


class CertificateDataOut(BaseModel):
    notBefore: datetime  # noqa: N815
    notAfter: datetime  # noqa: N815
    country: str
    commonName: str  # noqa: N815
    stateOrProvinceName: str | None = None  # noqa: N815


class IacaOut(BaseModel):
    id: str
    active: bool
    isManaged: bool  # noqa: N815
    certificatePem: str  # noqa: N815
    certificateFingerprint: str  # noqa: N815
    certificateData: CertificateDataOut  # noqa: N815


class IacaPage(BaseModel):
    data: list[IacaOut]
    nextCursor: str | None = None  # noqa: N815


class PublicIaca(BaseModel):
    id: str
    certificatePem: str  # noqa: N815
    certificateFingerprint: str  # noqa: N815
    certificateData: CertificateDataOut  # noqa: N815


class PublicIacaList(BaseModel):
    data: list[PublicIaca]


def render_iaca(iaca: Iaca, *, public: bool = False) -> dict[str, Any]:
    """Return the API form of an IACA (never its key)."""
    data = iaca.data
    certificate_data: dict[str, Any] = {
        "notBefore": data.not_before.isoformat(),
        "notAfter": data.not_after.isoformat(),
        "country": data.country,
        "commonName": data.common_name,
    }
    if data.state_or_province_name:
        certificate_data["stateOrProvinceName"] = data.state_or_province_name
    body: dict[str, Any] = {
        "id": iaca.id,
        "certificatePem": encode_pem(iaca.certificate_der),
        "certificateFingerprint": iaca.fingerprint,
        "certificateData": certificate_data,
    }
    if not public:
        body.update(active=iaca.active, isManaged=iaca.is_managed)
    return body


@router.post(
    "",
    status_code=201,
    response_model=IacaOut,
    response_model_exclude_none=True,
    summary="Create a managed IACA (inactive until activated)",
)
async def create_iaca(body: IacaCreateBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    data = IacaInput(
        country=body.country,
        common_name=body.commonName,
        state_or_province_name=body.stateOrProvinceName,
        not_before=body.notBefore,
        not_after=body.notAfter,
    )
    return render_iaca(await container.iacas.create_as(principal, data))


@router.get("", response_model=IacaPage, response_model_exclude_none=True, summary="List IACAs")
async def list_iacas(
    principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    page = await container.iacas.list_as(principal, limit=page_params.limit, after=page_params.after)
    return render_page(page, [render_iaca(i) for i in page.items])


@router.get("/{id}", response_model=IacaOut, response_model_exclude_none=True, summary="Retrieve an IACA")
async def get_iaca(id: str, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_iaca(await container.iacas.get_as(principal, id))


@router.put("/{id}", response_model=IacaOut, response_model_exclude_none=True, summary="Activate or deactivate an IACA")
async def update_iaca(id: str, body: IacaUpdateBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_iaca(await container.iacas.set_active_as(principal, id, body.active))


@router.delete("/{id}", status_code=204, summary="Delete an inactive IACA and its document signers")
async def delete_iaca(id: str, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.iacas.delete_as(principal, id)
    return Response(status_code=204)


@router.get(
    "/{id}/crl",
    summary="The IACA's certificate revocation list (public, DER)",
    response_class=Response,
    responses={200: {"content": {"application/pkix-crl": {}}}},
)
async def get_crl(id: str, container: ContainerDep, tenant: WalletTenantDep) -> Response:
    crl = await container.iacas.crl(tenant.id, id)
    return Response(crl, media_type="application/pkix-crl", headers={"Cache-Control": "public, max-age=3600"})


@public_router.get(
    PUBLIC_IACAS_PATH,
    response_model=PublicIacaList,
    response_model_exclude_none=True,
    summary="Active IACAs for wallets (the issuer metadata's mdoc_iacas_uri)",
)
@public_router.get(
    "/core" + PUBLIC_IACAS_PATH,
    response_model=PublicIacaList,
    response_model_exclude_none=True,
    include_in_schema=False,
)
async def public_iacas(container: ContainerDep, tenant: WalletTenantDep) -> Any:
    return {"data": [render_iaca(i, public=True) for i in await container.iacas.list_active(tenant.id)]}
