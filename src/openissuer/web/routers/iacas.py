"""IACAs (reference platform §8.2): management under ``/v2/credentials/mobile/iacas``, public list and CRLs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from openissuer.crypto.certificate_info import encode_pem
from openissuer.domain.pki import PUBLIC_IACAS_PATH, Iaca
from openissuer.services.iacas import IacaInput
from openissuer.web.deps import ContainerDep, PrincipalDep, WalletTenantDep
from openissuer.web.pagination import PageParams, render_page
from openissuer.web.path_ids import IacaIdParam, PublicIacaIdParam

router = APIRouter(prefix="/v2/credentials/mobile/iacas", tags=["IACAs"])


def _parse_moment(value: object) -> datetime | date:
    """A date-time with its offset, or a date (``2034-09-26``, as the reference's examples give them)."""
    if isinstance(value, str):
        try:
            if len(value) == len("2034-09-26"):
                return date.fromisoformat(value)
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                return moment
        except ValueError:
            pass
    raise ValueError("must be a date (2034-09-26) or a date-time with its offset (2034-09-26T00:00:00Z)")


Moment = Annotated[
    datetime | date,
    PlainValidator(_parse_moment),
    WithJsonSchema({"type": "string", "description": "A date, or a date-time with its offset"}),
]
public_router = APIRouter(tags=["IACAs (public)"])


class IacaCreateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    country: str | None = Field(
        None, description="ISO 3166-1 alpha-2 code, e.g. NZ. Default: the tenant's defaultCountry (/v1/config/tenant)."
    )
    commonName: str | None = Field(None, description="Default: '<public host> IACA'.")  # noqa: N815
    stateOrProvinceName: str | None = Field(None, description="ISO 3166-2 code, e.g. US-AL.")  # noqa: N815
    notBefore: Moment | None = Field(  # noqa: N815
        None, description="Default: now; not in the past. A date (2034-09-26) means its start, UTC (today: now)."
    )
    notAfter: Moment | None = Field(  # noqa: N815
        None, description="Default: notBefore + 10 years; at most 20 years. A date means its start, UTC."
    )
    certificatePem: str | None = Field(  # noqa: N815
        None,
        description="Upload an unmanaged IACA (its key stays with you; ISO/IEC 18013-5 B.1.2 profile, valid now). "
        "Its signers are then certified through certificate requests (document-signers, status-list-signers). "
        "Excludes the other fields.",
    )


class IacaUpdateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

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


def _moment(value: datetime | date | None, now: datetime) -> datetime | None:
    """A date is its start in UTC; today's date is now (``notBefore`` may not be in the past)."""
    if value is None or isinstance(value, datetime):
        return value
    start = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return now if start <= now < start + timedelta(days=1) else start


@router.post(
    "",
    status_code=201,
    response_model=IacaOut,
    response_model_exclude_none=True,
    summary="Create a managed IACA, or upload an unmanaged one (inactive until activated)",
    responses={409: {"description": "The tenant has 3 IACAs already, or already has this certificate"}},
)
async def create_iaca(body: IacaCreateBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    now = container.clock.now()
    data = IacaInput(
        country=body.country,
        common_name=body.commonName,
        state_or_province_name=body.stateOrProvinceName,
        not_before=_moment(body.notBefore, now),
        not_after=_moment(body.notAfter, now),
        certificate_pem=body.certificatePem,
    )
    return render_iaca(await container.iacas.create_as(principal, data))


@router.get("", response_model=IacaPage, response_model_exclude_none=True, summary="List IACAs")
async def list_iacas(
    principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    page = await container.iacas.list_as(principal, limit=page_params.limit, after=page_params.after)
    return render_page(page, [render_iaca(i) for i in page.items])


@router.get("/{iacaId}", response_model=IacaOut, response_model_exclude_none=True, summary="Retrieve an IACA")
async def get_iaca(id: IacaIdParam, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_iaca(await container.iacas.get_as(principal, id))


@router.put(
    "/{iacaId}", response_model=IacaOut, response_model_exclude_none=True, summary="Activate or deactivate an IACA"
)
async def update_iaca(id: IacaIdParam, body: IacaUpdateBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_iaca(await container.iacas.set_active_as(principal, id, body.active))


@router.delete("/{iacaId}", status_code=204, summary="Delete an inactive IACA and its document signers")
async def delete_iaca(id: IacaIdParam, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.iacas.delete_as(principal, id)
    return Response(status_code=204)


@router.get(
    "/{iacaId}/crl",
    summary="The IACA's certificate revocation list (public, DER)",
    response_class=Response,
    responses={200: {"content": {"application/pkix-crl": {}}}},
)
async def get_crl(id: PublicIacaIdParam, container: ContainerDep, tenant: WalletTenantDep) -> Response:
    crl = await container.iacas.crl(tenant.id, id)
    return Response(crl, media_type="application/pkix-crl", headers={"Cache-Control": "public, max-age=3600"})


@public_router.get(
    PUBLIC_IACAS_PATH,
    response_model=PublicIacaList,
    response_model_exclude_none=True,
    summary="Active IACAs for wallets (the issuer metadata's mdoc_iacas_uri)",
)
async def public_iacas(container: ContainerDep, tenant: WalletTenantDep) -> Any:
    return {"data": [render_iaca(i, public=True) for i in await container.iacas.list_active(tenant.id)]}
