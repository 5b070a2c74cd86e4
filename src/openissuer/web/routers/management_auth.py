"""``POST /v1/auth/token``: the management API's client-credentials token endpoint (reference platform §1.2)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from openissuer.domain.json_input import JsonInputError, parse_json_input
from openissuer.errors import (
    ErrorDetail,
    InvalidClientCredentialsError,
    InvalidTokenRequestError,
    UnsupportedManagementGrantError,
)
from openissuer.web.deps import ContainerDep
from openissuer.web.errors import NO_STORE
from openissuer.web.strict_input import FormInputError, parse_form_fields

router = APIRouter(tags=["management authentication"])


class TokenRequest(BaseModel):
    grant_type: str = "client_credentials"
    client_id: str
    client_secret: str
    audience: str | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


async def _read_fields(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_form_fields(await request.body()))
        except FormInputError as exc:
            raise InvalidTokenRequestError(str(exc), details=[ErrorDetail("body", "", str(exc))]) from exc
    try:
        body = parse_json_input(await request.body() or b"{}")
    except JsonInputError as exc:
        raise InvalidTokenRequestError(
            "Request body must be JSON or form-encoded", details=[ErrorDetail("body", "", "is not valid JSON")]
        ) from exc
    if not isinstance(body, dict):
        raise InvalidTokenRequestError("Request body must be a JSON object")
    return body


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """Return client_secret_basic credentials (RFC 6749 §2.3.1) when the request carries them."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClientCredentialsError("Malformed Basic credentials") from exc
    if "\x00" in client_id or "\x00" in secret:  # no client has one; PostgreSQL refuses it in any text value
        raise InvalidClientCredentialsError("Malformed Basic credentials")
    return client_id, secret


def _string_field(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidTokenRequestError(
            "Validation Error", details=[ErrorDetail("body", name, "is required and must be a string")]
        )
    return value


@router.post(
    "/v1/auth/token",
    summary="Obtain a management API access token",
    description=(
        "OAuth 2.0 client credentials (RFC 6749 §4.4). Body as JSON or `application/x-www-form-urlencoded`: "
        "`grant_type=client_credentials`, `client_id`, `client_secret`; HTTP Basic client authentication is "
        "accepted too. Errors carry both the management error body (`code`, `message`, `details`) and RFC 6749's "
        "`error` / `error_description`."
    ),
    response_model=TokenResponse,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": TokenRequest.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": TokenRequest.model_json_schema()},
            }
        }
    },
    responses={400: {"description": "Malformed request"}, 401: {"description": "Wrong client credentials"}},
)
async def token(request: Request, container: ContainerDep) -> JSONResponse:
    fields = await _read_fields(request)
    grant_type = fields.get("grant_type", "client_credentials")
    if grant_type != "client_credentials":
        raise UnsupportedManagementGrantError(
            "Only grant_type=client_credentials is supported",
            details=[ErrorDetail("body", "grant_type", "must be client_credentials", str(grant_type))],
        )
    basic = _basic_credentials(request)
    client_id, secret = basic if basic else (_string_field(fields, "client_id"), _string_field(fields, "client_secret"))
    issued = await container.management_auth.issue_token(client_id, secret)
    body = TokenResponse(access_token=issued.access_token, token_type=issued.token_type, expires_in=issued.expires_in)
    return JSONResponse(body.model_dump(), headers={**NO_STORE, "Pragma": "no-cache"})
