"""The one place errors become responses (DESIGN.md §3)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from openissuer.errors import ErrorDetail, IssuerError, ManagementError, OAuthError
from openissuer.web.path_ids import name_path_parameter

log = logging.getLogger("openissuer.web")

NO_STORE = {"Cache-Control": "no-store"}
_HTTP_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
}
# Fields whose values are secrets, matched exactly against the last segment of a detail's ``param`` (so
# ``authorization.clientSecret`` is masked and ``tokenEndpointAuthMethod`` is not), or against the whole param.
SECRET_FIELDS = frozenset(
    {
        "clientSecret",
        "client_secret",
        "secret",
        "password",
        "apiKey",
        "privateKey",
        "access_token",
        "refresh_token",
        "id_token",
        "code",
        "code_verifier",
        "pre-authorized_code",
        "preAuthorizedCode",
        "tx_code",
        "transactionCode",
        "proof",
        "proofs",
        "jwt",
        "session_token",
        "c_nonce",
        "nonce",
    }
)
SECRET_PARAMS = frozenset({"authorization.value"})  # a claims source's API key


def error_body(error: IssuerError) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the body and headers of an IssuerError in its family's shape; log its private detail, never send it.

    The one definition of an error response: ``render_error`` (FastAPI) and the plain wallet handlers use it.
    """
    if error.detail:
        log.info("request failed", extra={"error": error.code, "status": error.status, "reason": error.detail})
    headers = dict(error.headers)
    body: dict[str, Any]
    if isinstance(error, ManagementError):
        body = {"code": error.code, "message": error.description, "details": [_detail(d) for d in error.details]}
        if error.oauth_error:
            body.update(error=error.oauth_error, error_description=error.description)
            headers.update(NO_STORE)
    elif isinstance(error, OAuthError):
        body = {"error": error.code, "error_description": clean_description(error.description)}
        headers.update(NO_STORE)
    else:
        body = {"error": error.code, "error_description": error.description}
    return body, headers


_ALLOWED = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


def clean_description(description: str) -> str:
    """Return ``description`` within the characters RFC 6749 §5.2 allows in ``error_description``
    (%x20-21 / %x23-5B / %x5D-7E): a value quoted from the request cannot break a client's parser."""
    if description.isascii() and '"' not in description and "\\" not in description and description.isprintable():
        return description
    return "".join(c if c in _ALLOWED else "?" for c in description)


SERVER_ERROR = {"error": "server_error", "error_description": "The server encountered an internal error"}


def render_error(error: IssuerError) -> JSONResponse:
    """Render an IssuerError as a response (see ``error_body``)."""
    body, headers = error_body(error)
    return JSONResponse(body, status_code=error.status, headers=headers)


def is_secret_param(param: str) -> bool:
    """Tell whether a detail's ``param`` names a secret field (exact names, not substrings)."""
    return param in SECRET_PARAMS or param.rpartition(".")[2] in SECRET_FIELDS


def _detail(detail: ErrorDetail) -> dict[str, Any]:
    value = detail.value
    if value is not None and is_secret_param(detail.param):
        value = "[redacted]"
    return {"location": detail.location, "param": detail.param, "msg": detail.msg, "value": value}


def _validation_details(exc: RequestValidationError) -> list[ErrorDetail]:
    details = []
    for item in exc.errors():
        loc = [str(part) for part in item.get("loc", ())]
        location = loc[0] if loc else "body"
        location = "params" if location == "path" else location
        if item.get("type") == "json_invalid":
            # The body as a whole: not a field, and the position is not a parameter name.
            reason = (item.get("ctx") or {}).get("error", "invalid JSON")
            details.append(ErrorDetail("body", "", f"is not valid JSON ({reason} at position {loc[-1]})"))
            continue
        value = item.get("input")
        details.append(ErrorDetail(location, ".".join(loc[1:]), str(item.get("msg", "invalid")), _jsonable(value)))
    return details


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | dict):
        return None  # whole sub-documents are not echoed back
    return str(value)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: IssuerError, request validation, routing errors and the last-resort 500."""

    async def on_issuer_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IssuerError)
        return render_error(name_path_parameter(exc, request.scope.get("path_params") or {}))

    async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return render_error(ManagementError("Validation Error", details=_validation_details(exc)))

    async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "Error")
        body = {"code": code, "message": str(exc.detail), "details": []}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.exception("unhandled error", extra={"route": route})
        return JSONResponse(SERVER_ERROR, status_code=500, headers=NO_STORE)

    app.add_exception_handler(IssuerError, on_issuer_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
