"""``/v2/credentials/mobile/document-signers`` and ``/v2/credentials/mobile/status-list-signers`` (reference §8.3,
§8.4): signer certificates under the tenant's IACAs, one router factory for every signer kind
(``services/signer_certificates.py``). (No ``from __future__ import annotations``: the handlers' annotations
use the per-router path parameter type.)"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from openissuer.crypto.certificate_checks import encode_certificate_request_pem
from openissuer.crypto.certificate_info import encode_pem, read_certificate_info
from openissuer.domain.pki import DocumentSigner, SignerKind
from openissuer.domain.signer_requests import SignerEntry
from openissuer.services.signer_certificates import SignerUpdate, is_managed
from openissuer.web.deps import ContainerDep, PrincipalDep
from openissuer.web.pagination import PageParams, render_page
from openissuer.web.path_ids import path_id


class SignerCreateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    iacaId: str = Field(description="An unmanaged IACA of the tenant.")  # noqa: N815


class SignerUpdateBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    active: bool = Field(description="Whether the signer signs (once it has a certificate).")
    certificatePem: str | None = Field(  # noqa: N815
        None, description="The certificate the IACA's holder issued for the request's csrPem."
    )


class SignerCertificateData(BaseModel):
    notBefore: datetime  # noqa: N815
    notAfter: datetime  # noqa: N815
    country: str | None = None
    commonName: str | None = None  # noqa: N815
    stateOrProvinceName: str | None = None  # noqa: N815


class SignerOut(BaseModel):
    id: str
    iacaId: str  # noqa: N815
    active: bool
    isManaged: bool = Field(description="Created and rotated by openissuer under a managed IACA.")  # noqa: N815
    csrPem: str | None = Field(None, description="Until its certificate is uploaded.")  # noqa: N815
    certificatePem: str | None = None  # noqa: N815
    certificateFingerprint: str | None = Field(None, description="SHA-256 of the DER certificate, hex.")  # noqa: N815
    certificateData: SignerCertificateData | None = None  # noqa: N815
    revoked: bool | None = None
    revocationDate: datetime | None = None  # noqa: N815


class SignerPage(BaseModel):
    data: list[SignerOut]
    nextCursor: str | None = None  # noqa: N815


class RevocationOut(BaseModel):
    revoked: bool
    revocationDate: datetime  # noqa: N815


def render_signer(entry: SignerEntry) -> dict[str, Any]:
    """Return the API form of a request (``csrPem``) or a signer (its certificate)."""
    body: dict[str, Any] = {"id": entry.id, "iacaId": entry.iaca_id, "active": entry.active}
    body["isManaged"] = is_managed(entry)
    if not isinstance(entry, DocumentSigner):
        body["csrPem"] = encode_certificate_request_pem(entry.csr_der)
        return body
    info = read_certificate_info(entry.certificate_der)
    body.update(
        certificatePem=encode_pem(entry.certificate_der),
        certificateFingerprint=info.sha256_fingerprint,
        certificateData={
            "notBefore": info.not_before,
            "notAfter": info.not_after,
            "country": info.country,
            "commonName": info.common_name,
            "stateOrProvinceName": info.state_or_province,
        },
    )
    if entry.revoked_at is not None:
        body.update(revoked=True, revocationDate=entry.revoked_at)
    return body


def create_router(kind: SignerKind, path: str, label: str, id_name: str) -> APIRouter:
    """Return the router of one signer kind at ``path`` (``label``: "document signer"; ``id_name``: the path
    parameter's name, as the reference spells it)."""
    router = APIRouter(prefix=path, tags=[f"{label.capitalize()}s"])
    SignerId = Annotated[str, path_id(id_name, f"The {label}'s id.")]  # noqa: N806
    item = f"/{{{id_name}}}"

    def service(container: ContainerDep) -> Any:
        return container.signer_certificates[kind]

    @router.post(
        "",
        status_code=201,
        response_model=SignerOut,
        response_model_exclude_none=True,
        summary=f"Create a {label} under an unmanaged IACA: a new key and its certificate request (csrPem)",
        responses={409: {"description": "The tenant has the most signers of this kind it may have"}},
    )
    async def create_signer(body: SignerCreateBody, principal: PrincipalDep, container: ContainerDep) -> Any:
        return render_signer(await service(container).create_as(principal, body.iacaId))

    @router.get("", response_model=SignerPage, response_model_exclude_none=True, summary=f"List {label}s")
    async def list_signers(
        principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
    ) -> Any:
        page = await service(container).list_as(principal, limit=page_params.limit, after=page_params.after)
        return render_page(page, [render_signer(e) for e in page.items])

    @router.get(item, response_model=SignerOut, response_model_exclude_none=True, summary=f"Retrieve a {label}")
    async def get_signer(id: SignerId, principal: PrincipalDep, container: ContainerDep) -> Any:
        return render_signer(await service(container).get_as(principal, id))

    @router.put(
        item,
        response_model=SignerOut,
        response_model_exclude_none=True,
        summary=f"Upload a {label}'s certificate and/or (de)activate it (unmanaged IACAs)",
    )
    async def update_signer(
        id: SignerId, body: SignerUpdateBody, principal: PrincipalDep, container: ContainerDep
    ) -> Any:
        update = SignerUpdate(active=body.active, certificate_pem=body.certificatePem)
        return render_signer(await service(container).update_as(principal, id, update))

    @router.post(
        item + "/revoke",
        response_model=RevocationOut,
        summary=f"Revoke a {label}: it never signs again and its IACA's CRL lists it (managed IACAs)",
    )
    async def revoke_signer(id: SignerId, principal: PrincipalDep, container: ContainerDep) -> Any:
        revocation = await service(container).revoke_as(principal, id)
        return {"revoked": True, "revocationDate": revocation.revoked_at}

    @router.delete(item, status_code=204, summary=f"Delete a {label} (a request, or an unmanaged IACA's signer)")
    async def delete_signer(id: SignerId, principal: PrincipalDep, container: ContainerDep) -> Response:
        await service(container).delete_as(principal, id)
        return Response(status_code=204)

    return router


document_signers = create_router(
    SignerKind.DOCUMENT_SIGNER, "/v2/credentials/mobile/document-signers", "document signer", "documentSignerId"
)
status_list_signers = create_router(
    SignerKind.STATUS_LIST_SIGNER,
    "/v2/credentials/mobile/status-list-signers",
    "status list signer",
    "statusListSignerId",
)
