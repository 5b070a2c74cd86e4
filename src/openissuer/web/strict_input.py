"""Strict inputs at the edge, for every request the FastAPI app serves (the wallet hot path parses its own bodies
with the same rules in ``web/wallet_http.py``).

- A JSON body (``application/json`` or ``+json``) must be strict JSON (``domain/json_input.py``): no duplicate
  members, ``NaN``, out-of-range numbers, lone surrogates, NUL characters or deep nesting; it is checked here,
  before any route reads it, and then handed on unchanged.
- A form body of a wallet endpoint is parsed by ``parse_form_fields`` (``web/wallet_http.py``): at most
  ``MAX_FORM_FIELDS`` fields, none repeated. Other forms (the portal's) are read by Starlette.
- A NUL character in the path or the query string is refused (PostgreSQL refuses it in any text value).

Refusals are 400s in the family of the endpoint: an OAuth error body on the wallet-facing paths, the management
error body elsewhere.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openissuer.domain.json_input import JsonInputError, parse_json_input
from openissuer.errors import ErrorDetail, InvalidRequestError, InvalidTokenRequestError, IssuerError, ValidationError
from openissuer.protocol.endpoints import CREDENTIAL_OFFER_PATH, CREDENTIAL_PATH, NONCE_PATH, NOTIFICATION_PATH
from openissuer.web.errors import render_error

MAX_FORM_FIELDS = 100
MANAGEMENT_TOKEN_PATH = "/v1/auth/token"  # its errors carry RFC 6749 members too
_WALLET_PREFIXES = ("/v1/oauth/", "/.well-known/", CREDENTIAL_OFFER_PATH + "/", "/vct/")
_WALLET_PATHS = frozenset({NONCE_PATH, CREDENTIAL_PATH, NOTIFICATION_PATH})


class FormInputError(ValueError):
    """The form body is not one this issuer accepts; the message never quotes the input."""


def parse_form_fields(body: bytes) -> dict[str, str]:
    """Return the fields of an ``application/x-www-form-urlencoded`` body.

    RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once". The field count is
    checked before the body is split (``parse_qsl`` counts separators first), so thousands of fields cost little.
    """
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except UnicodeDecodeError as exc:
        raise FormInputError("The request body is not UTF-8") from exc
    except ValueError as exc:
        raise FormInputError(f"The request has more than {MAX_FORM_FIELDS} parameters") from exc
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise FormInputError(f"{_printable(key)} appears more than once")
        if "\x00" in key or "\x00" in value:
            raise FormInputError("A parameter contains a NUL character")
        fields[key] = value
    return fields


def _printable(name: str) -> str:
    # Shown in error_description (OID4VCI: %x20-21 / %x23-5B / %x5D-7E); a hostile name is cut and cleaned.
    cleaned = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in name[:40])
    return cleaned or "a parameter"


def is_wallet_path(path: str) -> bool:
    """Tell whether ``path`` is a wallet-facing (OAuth / OID4VCI) endpoint, whose errors are OAuth error bodies."""
    return path in _WALLET_PATHS or path.startswith(_WALLET_PREFIXES)


def refusal(path: str, message: str, param: str, msg: str | None = None) -> IssuerError:
    """Return the 400 of a refused input in the family of the endpoint at ``path``; ``msg`` is the detail's text
    (the reference's style, e.g. "is not valid JSON: ..."), ``message`` by default."""
    if is_wallet_path(path):
        return InvalidRequestError(message)
    detail = ErrorDetail("body" if param == "" else "query", param, msg or message)
    if path == MANAGEMENT_TOKEN_PATH:
        return InvalidTokenRequestError(message, details=[detail])
    return ValidationError(message, details=[detail])


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return str(value.decode("latin-1")).split(";")[0].strip().lower()
    return ""


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


class StrictInputMiddleware:
    """Refuse a NUL in the path or query and a JSON body that is not strict JSON; pass everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if "\x00" in path or b"%00" in scope.get("query_string", b"") or b"\x00" in scope.get("query_string", b""):
            await render_error(refusal(path, "The request contains a NUL character", "path"))(scope, receive, send)
            return
        if not _is_json(_media_type(scope)):
            await self.app(scope, receive, send)
            return
        try:
            body, more = await _read(receive)
        except IssuerError as exc:  # a body past the size limit
            await render_error(exc)(scope, receive, send)
            return
        if body:
            try:
                parse_json_input(body)
            except JsonInputError as exc:
                error = refusal(path, f"The request body is not valid JSON: {exc}", "", f"is not valid JSON: {exc}")
                await render_error(error)(scope, receive, send)
                return
        await self.app(scope, _replay(body, more, receive), send)


async def _read(receive: Receive) -> tuple[bytes, list[Message]]:
    """Read the whole body; return it and any message after it (a disconnect) to hand on."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), []


def _replay(body: bytes, after: list[Message], receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *after]

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
