"""``/v1/openid/offers/pre-authorized``: create and revoke pre-authorized offers; QR codes of offers."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from openissuer.domain.durations import Duration
from openissuer.domain.offers import TxCodeConfiguration, TxCodeInputMode
from openissuer.services.offers import OfferInput
from openissuer.web.deps import ContainerDep, PrincipalDep
from openissuer.web.path_ids import IdParam

router = APIRouter(prefix="/v1/openid/offers", tags=["Credential offers"])


class TxCodeBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    inputMode: TxCodeInputMode = TxCodeInputMode.NUMERIC  # noqa: N815
    length: int = Field(6, description="4-12 characters")
    description: str | None = Field(None, description="Shown to the holder; at most 300 characters.")


class OfferExpiry(BaseModel):
    # Unlike other members, an unknown unit is refused: ignoring it would change the lifetime silently.
    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(0, ge=0, le=1440)
    seconds: int = Field(0, ge=0, le=86400)


class PreAuthorizedOfferBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    credentials: list[str] = Field(description="Credential configuration ids to offer.")
    userId: str | None = Field(None, description="An existing user; default: a new user.")  # noqa: N815
    claims: dict[str, Any] = Field(default_factory=dict, description="Available to mappings as claims.*")
    claimsToPersist: list[str] = Field(default_factory=list, description="Keys of claims to store on the user.")  # noqa: N815
    transactionCodeConfiguration: TxCodeBody | None = None  # noqa: N815
    expiresIn: OfferExpiry | None = Field(None, description="Default 5 minutes; at most the configured maximum.")  # noqa: N815
    byReference: bool | None = Field(None, description="Pass the offer as credential_offer_uri.")  # noqa: N815
    credentialOfferEndpoint: str | None = Field(  # noqa: N815
        None,
        description="Where the URI points (a wallet's private scheme `com.example.wallet://` or claimed https link); "
        "default: the tenant's credentialOfferEndpoint, else `openid-credential-offer://`.",
    )


class PreAuthorizedOfferOut(BaseModel):
    id: str
    userId: str  # noqa: N815
    uri: str
    expiresAt: datetime  # noqa: N815
    transactionCode: str | None = Field(None, description="Send it to the holder out of band; shown only now.")  # noqa: N815


@router.post(
    "/pre-authorized",
    response_model=PreAuthorizedOfferOut,
    response_model_exclude_none=True,
    summary="Create a pre-authorized offer (admin, issuer)",
)
async def create_pre_authorized_offer(
    body: PreAuthorizedOfferBody, principal: PrincipalDep, container: ContainerDep
) -> Any:
    tx = body.transactionCodeConfiguration
    data = OfferInput(
        configuration_ids=body.credentials,
        user_id=body.userId,
        claims=body.claims,
        claims_to_persist=body.claimsToPersist,
        tx_code=None if tx is None else TxCodeConfiguration(tx.inputMode, tx.length, tx.description),
        expires_in=None
        if body.expiresIn is None
        else Duration(minutes=body.expiresIn.minutes, seconds=body.expiresIn.seconds),
        by_reference=body.byReference,
        credential_offer_endpoint=body.credentialOfferEndpoint,
    )
    created = await container.offers.create_pre_authorized_as(principal, data)
    return {
        "id": created.offer.id,
        "userId": created.offer.user_id,
        "uri": created.uri,
        "expiresAt": created.offer.expires_at,
        "transactionCode": created.tx_code,
    }


@router.delete("/pre-authorized/{id}", status_code=204, summary="Revoke an unredeemed pre-authorized offer")
async def revoke_pre_authorized_offer(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.offers.revoke_as(principal, id)
    return Response(status_code=204)


@router.get(
    "/{id}/qrcode",
    summary="The offer URI as a QR code (while the offer can be redeemed)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
)
async def offer_qrcode(
    id: IdParam,
    principal: PrincipalDep,
    container: ContainerDep,
    format: Annotated[Literal["png", "svg"], Query(description="png or svg")] = "png",
) -> Response:
    uri = await container.offers.offer_uri_as(principal, id)
    qr = segno.make(uri, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind=format, scale=6, border=4)
    media_type = "image/png" if format == "png" else "image/svg+xml"
    return Response(buffer.getvalue(), media_type=media_type, headers={"Cache-Control": "no-store"})
