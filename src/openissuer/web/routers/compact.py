"""Compact credentials (reference platform §9.3, §10.2): direct sign, verify and QR code, revocation status, and
the revocation lists (public documents and the admin list), under ``/v2/credentials/compact``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.datastructures import UploadFile

from openissuer.domain.status_lists import StatusList
from openissuer.errors import ErrorDetail, PayloadTooLargeError, ValidationError
from openissuer.services.compact_credentials import SignInput, VerificationResult, VerifyOptions
from openissuer.services.revocation_lists import CACHE_CONTROL, RevocationListSummary
from openissuer.web.deps import ContainerDep, PrincipalDep, WalletTenantDep
from openissuer.web.pagination import PageParams, render_page

PREFIX = "/v2/credentials/compact"
MAX_FILE_BYTES = 1_000_000
"""Reference §9.3: a file of at most 1 MB (the request body as a whole is also capped at 1 MiB by the middleware)."""
router = APIRouter(prefix=PREFIX, tags=["Compact credentials (CWT)"])
public_router = APIRouter(tags=["Compact credentials (public)"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignBody(_Strict):
    payload: dict[str, Any] = Field(
        description="`iss` (this tenant's did:web; default), `nbf`, `exp`, `iat`, `aud`, `sub`, `type` and custom "
        "claims with string, number or boolean values."
    )
    revocable: bool = Field(False, description="Give the credential a revocation list entry.")
    isRevoked: bool | None = Field(None, description="Issue it revoked (needs `revocable: true`).")  # noqa: N815


class SignedOut(BaseModel):
    id: str
    encoded: str
    decoded: dict[str, Any]


class VerifyBody(_Strict):
    payload: str = Field(min_length=1, max_length=100_000, description="The encoded credential, `CSC:/1/…`.")
    trustedIssuers: list[str] | None = Field(None, max_length=100)  # noqa: N815
    assertValidFrom: bool = True  # noqa: N815
    assertValidUntil: bool = True  # noqa: N815
    checkRevocation: bool = True  # noqa: N815


class VerifyError(BaseModel):
    type: str
    message: str


class VerifiedOut(BaseModel):
    verified: bool
    decoded: dict[str, Any] | None = None
    error: VerifyError | None = None


class QrCodeBody(_Strict):
    payload: str = Field(min_length=1, max_length=100_000)
    width: int = Field(250, ge=21, le=4000, description="Width (and height) of the PNG, pixels.")


class RevocationStatusBody(_Strict):
    isRevoked: bool  # noqa: N815


class RevocationStatusOut(BaseModel):
    id: str
    isRevoked: bool  # noqa: N815


class RevocationListOut(BaseModel):
    id: str
    url: str
    listSize: int  # noqa: N815
    allocatedCount: int  # noqa: N815
    revokedCount: int  # noqa: N815
    createdAt: str  # noqa: N815


class RevocationListPage(BaseModel):
    data: list[RevocationListOut]
    nextCursor: str | None = None  # noqa: N815


_VERIFY_BODIES = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": VerifyBody.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "PNG/JPEG image or PDF, 1 MB"},
                        "trustedIssuers": {"type": "string", "description": "A JSON array of DIDs"},
                        "assertValidFrom": {"type": "boolean"},
                        "assertValidUntil": {"type": "boolean"},
                        "checkRevocation": {"type": "boolean"},
                    },
                }
            },
        },
    }
}


@router.post("/sign", response_model=SignedOut, summary="Sign a compact credential (CWT)")
async def sign(body: SignBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    signed = await container.compact_credentials.sign_as(
        principal, SignInput(payload=body.payload, revocable=body.revocable, is_revoked=body.isRevoked)
    )
    return {"id": signed.id, "encoded": signed.encoded, "decoded": signed.decoded}


@router.post(
    "/verify",
    response_model=VerifiedOut,
    response_model_exclude_none=True,
    summary="Verify a compact credential, given as text (JSON) or as a QR code in an image or PDF (multipart)",
    openapi_extra=_VERIFY_BODIES,
)
async def verify(request: Request, principal: PrincipalDep, container: ContainerDep) -> Any:
    service = container.compact_credentials
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        file, options = await _read_multipart(request)
        return _render(await service.verify_file_as(principal, file, options))
    body = _parse(VerifyBody, await _json(request))
    options = VerifyOptions(
        trusted_issuers=None if body.trustedIssuers is None else tuple(body.trustedIssuers),
        assert_valid_from=body.assertValidFrom,
        assert_valid_until=body.assertValidUntil,
        check_revocation=body.checkRevocation,
    )
    return _render(await service.verify_as(principal, body.payload, options))


@router.post(
    "/qrcode",
    summary="Draw a compact credential as a QR code (PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def qrcode(body: QrCodeBody, principal: PrincipalDep, container: ContainerDep) -> Response:
    png = await container.compact_credentials.qrcode_as(principal, body.payload, body.width)
    return Response(png, media_type="image/png")


@router.get(
    "/revocation-lists",
    response_model=RevocationListPage,
    response_model_exclude_none=True,
    summary="List the tenant's revocation lists",
)
async def list_revocation_lists(
    principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    page = await container.revocation_lists.list_as(principal, limit=page_params.limit, after=page_params.after)
    return render_page(page, [_render_list(item) for item in page.items])


@router.post(
    "/{credentialId}/revocation-status",
    response_model=RevocationStatusOut,
    summary="Revoke or un-revoke a revocable compact credential",
)
async def set_revocation_status(
    credentialId: str,  # noqa: N803
    body: RevocationStatusBody,
    principal: PrincipalDep,
    container: ContainerDep,
) -> Any:
    revoked = await container.revocation_lists.set_status_as(principal, credentialId, body.isRevoked)
    return {"id": credentialId, "isRevoked": revoked}


@router.get(
    "/{credentialId}/revocation-status",
    response_model=RevocationStatusOut,
    summary="Tell whether a revocable compact credential is revoked",
)
async def get_revocation_status(credentialId: str, principal: PrincipalDep, container: ContainerDep) -> Any:  # noqa: N803
    return {"id": credentialId, "isRevoked": await container.revocation_lists.status_as(principal, credentialId)}


@public_router.get(
    PREFIX + "/revocation-lists/{listId}",
    summary="A revocation list (public): a signed CWT with the gzip-compressed bitstring (see docs/cwt.md)",
    response_class=Response,
    responses={200: {"content": {"application/cwt": {}}}},
)
@public_router.get("/core" + PREFIX + "/revocation-lists/{listId}", response_class=Response, include_in_schema=False)
async def get_revocation_list(listId: str, container: ContainerDep, tenant: WalletTenantDep) -> Response:  # noqa: N803
    document = await container.revocation_lists.document(tenant, listId)
    return Response(document, media_type="application/cwt", headers={"Cache-Control": CACHE_CONTROL})


def _render(result: VerificationResult) -> dict[str, Any]:
    body: dict[str, Any] = {"verified": result.verified}
    if result.decoded is not None:
        body["decoded"] = result.decoded
    if result.failure is not None:
        body["error"] = {"type": result.failure.value, "message": result.message or ""}
    return body


def _render_list(item: RevocationListSummary) -> dict[str, Any]:
    status_list: StatusList = item.list
    return {
        "id": status_list.id,
        "url": item.url,
        "listSize": status_list.size,
        "allocatedCount": status_list.allocated,
        "revokedCount": item.revoked,
        "createdAt": status_list.created_at.isoformat(),
    }


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise ValidationError(
            "Validation Error", details=[ErrorDetail("body", "", "must be JSON (or multipart/form-data with a file)")]
        ) from exc


def _parse(model: type[VerifyBody], value: Any) -> VerifyBody:
    try:
        return model.model_validate(value)
    except PydanticValidationError as exc:
        details = [
            ErrorDetail("body", ".".join(str(part) for part in error["loc"]), error["msg"], _plain(error.get("input")))
            for error in exc.errors()
        ]
        raise ValidationError("Validation Error", details=details) from exc


async def _read_multipart(request: Request) -> tuple[bytes, VerifyOptions]:
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationError("Validation Error", details=[ErrorDetail("body", "file", "a file is required")])
    data = await upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _too_large()
    fields: dict[str, Any] = {"payload": "-"}
    for name in ("assertValidFrom", "assertValidUntil", "checkRevocation"):
        value = form.get(name)
        if isinstance(value, str):
            fields[name] = value
    issuers = form.get("trustedIssuers")
    if isinstance(issuers, str):
        try:
            fields["trustedIssuers"] = json.loads(issuers)
        except ValueError:
            fields["trustedIssuers"] = issuers
    body = _parse(VerifyBody, fields)
    return data, VerifyOptions(
        trusted_issuers=None if body.trustedIssuers is None else tuple(body.trustedIssuers),
        assert_valid_from=body.assertValidFrom,
        assert_valid_until=body.assertValidUntil,
        check_revocation=body.checkRevocation,
    )


def _too_large() -> PayloadTooLargeError:
    return PayloadTooLargeError(
        "The file is larger than 1 MB", details=[ErrorDetail("body", "file", "must be at most 1 MB")]
    )


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)[:200]
