"""The wallet hot path as plain ASGI handlers, in front of the FastAPI app (DESIGN.md §1).

Token, nonce, credential, the credential offer by reference and the two metadata documents are answered here
without FastAPI's routing and dependency solving (about 150 µs a request against a few µs). Everything else, and
any other method on these paths, falls through to the FastAPI app. The handlers keep what the FastAPI routes
would do: the same errors (``web/errors.py``), headers, access log line and metrics (``web/middleware.py`` wraps
both, and the route template is set for it), and the OpenAPI description, whose routes (``routers/wallet.py``,
``routers/well_known.py``) call these same handlers. The server's HTTP protocol also calls them directly for a plain
request, past the ASGI stack (``cli/http_protocol.py``, ``WalletHttpProtocol``), through ``WalletEndpoints.route``
and ``WalletEndpoints.respond``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from openissuer.bootstrap import Container
from openissuer.domain.json_input import JsonInputError, parse_json_input
from openissuer.errors import (
    InvalidCredentialRequestError,
    InvalidRequestError,
    InvalidTokenError,
    IssuerError,
    OAuthError,
    OAuthNotFoundError,
)
from openissuer.protocol.credential_request import CredentialRequest, parse_credential_request
from openissuer.protocol.endpoints import (
    AS_METADATA_NAME,
    CREDENTIAL_OFFER_PATH,
    CREDENTIAL_PATH,
    ISSUER_METADATA_NAME,
    NONCE_PATH,
    TOKEN_PATH,
)
from openissuer.protocol.token_request import AuthorizationCodeRequest, parse_token_request
from openissuer.services.dpop import DPOP_NONCE_HEADER, SenderConstraint, dpop_challenge
from openissuer.services.encryption import JWT_MEDIA_TYPE
from openissuer.services.rate_limits import ADDRESS, CLIENT, OFFER
from openissuer.services.tenancy import WalletTenant
from openissuer.services.wallet_auth import ATTESTATION_HEADER, ATTESTATION_POP_HEADER, PresentedCredentials
from openissuer.web.errors import NO_STORE, SERVER_ERROR, error_body
from openissuer.web.strict_input import FormInputError, parse_form_fields

log = logging.getLogger("openissuer.web")

_JSON = b"application/json"
_TOKEN_HEADERS = {**NO_STORE, "Pragma": "no-cache"}
_METADATA_HEADERS = {"Cache-Control": "public, max-age=60"}
_ISSUER_METADATA = f"/.well-known/{ISSUER_METADATA_NAME}"
_CHALLENGES = f'Bearer error="invalid_token", {dpop_challenge()}'  # either scheme is accepted
_AS_METADATA = f"/.well-known/{AS_METADATA_NAME}"


@dataclass(frozen=True)
class WalletRequest:
    """What a wallet handler reads of a request: its host, headers (lower-case names), path and whole body."""

    path: str
    host: str | None
    headers: dict[str, str]
    body: bytes
    client_host: str | None = None

    @property
    def media_type(self) -> str:
        """The ``Content-Type`` without parameters, lower case."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class WalletResponse:
    """A response: status, body and extra headers; JSON unless ``media_type`` says otherwise."""

    status: int
    body: bytes
    headers: dict[str, str]
    media_type: bytes = b"application/json"


Handler = Callable[[Container, WalletRequest], Awaitable[WalletResponse]]


def json_response(content: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> WalletResponse:
    """Return ``content`` as compact JSON (the same bytes as Starlette's ``JSONResponse``)."""
    return WalletResponse(status, orjson.dumps(content), dict(headers or {}))


def error_response(error: IssuerError) -> WalletResponse:
    """Return an IssuerError as the one error renderer shapes it."""
    body, headers = error_body(error)
    return json_response(body, status=error.status, headers=headers)


async def _tenant(container: Container, request: WalletRequest) -> WalletTenant:
    return await container.tenants.resolve_host(request.host)


def parse_form(request: WalletRequest) -> dict[str, str]:
    """Return the fields of an ``application/x-www-form-urlencoded`` body.

    RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once".
    """
    if request.media_type != "application/x-www-form-urlencoded":
        raise InvalidRequestError("The request must be application/x-www-form-urlencoded")
    try:
        return parse_form_fields(request.body)
    except FormInputError as exc:
        raise InvalidRequestError(str(exc)) from exc


def parse_json(request: WalletRequest, error: type[OAuthError]) -> Any:
    """Return the JSON body; ``error`` when it is not ``application/json`` or not strict JSON
    (``domain/json_input.py``: no duplicate members, NaN, out-of-range numbers, lone surrogates, NUL, deep nesting).
    """
    if request.media_type != "application/json":
        raise error("The request must be application/json")
    try:
        return parse_json_input(request.body)
    except JsonInputError as exc:
        raise error(f"The request body is not valid JSON: {exc}") from exc


def bearer_token(request: WalletRequest) -> str | None:
    """Return the bearer token of the Authorization header (RFC 6750 §2.1; never from the query or body)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError(
            "Use Authorization: Bearer <access token>", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return token.strip()


async def token(container: Container, request: WalletRequest) -> WalletResponse:
    """The token endpoint (OID4VCI §6): either grant; DPoP and wallet attestation when presented or required."""
    tenant = await _tenant(container, request)
    limits = container.rate_limits
    await limits.check(tenant.id, [(ADDRESS, source_address(container, request))])
    presented = await present_credentials(container, tenant, request, tenant.endpoints.token)
    parsed = parse_token_request(parse_form(request), authorization_code_enabled=True)
    if isinstance(parsed, AuthorizationCodeRequest):
        await limits.check(tenant.id, [(CLIENT, parsed.client_id), (OFFER, parsed.code)])
    else:
        await limits.check(tenant.id, [(CLIENT, parsed.client_id), (OFFER, parsed.pre_authorized_code)])
    body = await container.tokens.exchange(parsed, tenant, presented)
    if presented.dpop is None:
        return json_response(body, headers=_TOKEN_HEADERS)
    nonce = container.wallet_auth.dpop.create_nonce(tenant.id)
    return json_response(body, headers={**_TOKEN_HEADERS, DPOP_NONCE_HEADER: nonce})


async def nonce(container: Container, request: WalletRequest) -> WalletResponse:
    """The nonce endpoint (OID4VCI §7): stateless, no storage touched."""
    tenant = await _tenant(container, request)
    return json_response({"c_nonce": container.nonces.create_nonce(tenant.id)}, headers=NO_STORE)


def access_token_of(request: WalletRequest) -> tuple[str, str | None]:
    """Return the ``Authorization`` scheme (``bearer`` or ``dpop``) and the access token (RFC 6750 §2.1, RFC 9449
    §7.1; never from the query or body)."""
    header = request.headers.get("authorization")
    if header is None:
        return "bearer", None
    scheme, _, token = header.partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "dpop") or not token.strip():
        raise InvalidTokenError(
            "Use Authorization: Bearer or DPoP <access token>", headers={"WWW-Authenticate": _CHALLENGES}
        )
    return scheme, token.strip()


def parse_credential_body(container: Container, tenant: WalletTenant, request: WalletRequest) -> CredentialRequest:
    """Parse a credential request: JSON, or a JWE (``application/jwt``) to the tenant's request key (§10)."""
    if request.media_type != JWT_MEDIA_TYPE:
        body = parse_json(request, InvalidCredentialRequestError)
        return parse_credential_request(body, batch_size=container.batch_size)
    plaintext = container.encryption.decrypt_request(tenant.id, request.body)
    try:
        body = parse_json_input(plaintext)
    except JsonInputError as exc:
        raise InvalidCredentialRequestError(f"The decrypted request is not valid JSON: {exc}") from exc
    parsed = parse_credential_request(body, batch_size=container.batch_size)
    return dataclasses.replace(parsed, encrypted=True)


async def credential(container: Container, request: WalletRequest) -> WalletResponse:
    """The credential endpoint (OID4VCI §8): Bearer or DPoP, JSON or encrypted; a malformed body is reported after
    the token is checked. Every 401 carries ``WWW-Authenticate``."""
    tenant = await _tenant(container, request)
    try:
        scheme, access_token = access_token_of(request)
        await container.rate_limits.check(
            tenant.id, [(ADDRESS, source_address(container, request)), (OFFER, access_token)]
        )
        sender = None
        if scheme == "dpop":
            proof = container.wallet_auth.dpop.verify(
                tenant.id,
                header_list(request, "dpop"),
                method="POST",
                url=tenant.endpoints.credential,
                access_token=access_token,
                at_resource=True,
            )
            sender = SenderConstraint("dpop", proof)
        parsed: CredentialRequest | OAuthError
        try:
            parsed = parse_credential_body(container, tenant, request)
        except OAuthError as exc:
            parsed = exc
        response = await container.issuance.issue_credential(tenant, access_token, parsed, sender)
    except IssuerError as exc:
        if exc.status == 401 and "WWW-Authenticate" not in exc.headers:
            exc.headers["WWW-Authenticate"] = _CHALLENGES
        raise
    headers = (
        NO_STORE
        if sender is None
        else {**NO_STORE, DPOP_NONCE_HEADER: container.wallet_auth.dpop.create_nonce(tenant.id)}
    )
    assert isinstance(parsed, CredentialRequest)
    if parsed.response_encryption is None:
        return json_response(response, headers=headers)
    token = container.encryption.encrypt_response(orjson.dumps(response), parsed.response_encryption)
    return WalletResponse(200, token.encode("ascii"), dict(headers), JWT_MEDIA_TYPE.encode())


async def credential_offer(container: Container, request: WalletRequest) -> WalletResponse:
    """A Credential Offer by reference (OID4VCI §4.1.3), while the offer is redeemable."""
    tenant = await _tenant(container, request)
    reference = request.path.rpartition("/")[2]
    offer = await container.offers.offer_by_reference(tenant, reference)
    if offer is None:
        raise OAuthNotFoundError("Unknown, redeemed, revoked or expired offer")
    return json_response(offer, headers=NO_STORE)


def _check_metadata_path(tenant: WalletTenant, request: WalletRequest, name: str) -> None:
    """RFC 8414 §3.1 path insertion: the document of ``https://host/tenant`` is at ``/.well-known/<name>/tenant``."""
    expected = urlsplit(tenant.issuer).path.rstrip("/")
    if request.path.removeprefix(name).rstrip("/") != expected:
        raise OAuthNotFoundError("No credential issuer is published at this path")


async def issuer_metadata(container: Container, request: WalletRequest) -> WalletResponse:
    """The Credential Issuer metadata (OID4VCI §12.2)."""
    tenant = await _tenant(container, request)
    _check_metadata_path(tenant, request, _ISSUER_METADATA)
    return json_response(await container.metadata.issuer_metadata(tenant), headers=_METADATA_HEADERS)


async def authorization_server_metadata(container: Container, request: WalletRequest) -> WalletResponse:
    """The Authorization Server metadata (RFC 8414, OID4VCI §12.3)."""
    tenant = await _tenant(container, request)
    _check_metadata_path(tenant, request, _AS_METADATA)
    return json_response(await container.metadata.authorization_server_metadata(tenant), headers=_METADATA_HEADERS)


class RouteLabel:
    """What the request middleware reads of a route: its template (for the access log and metrics)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


_EXACT: dict[tuple[str, str], tuple[Handler, RouteLabel]] = {
    ("POST", TOKEN_PATH): (token, RouteLabel(TOKEN_PATH)),
    ("POST", NONCE_PATH): (nonce, RouteLabel(NONCE_PATH)),
    ("POST", CREDENTIAL_PATH): (credential, RouteLabel(CREDENTIAL_PATH)),
    ("GET", _ISSUER_METADATA): (issuer_metadata, RouteLabel(_ISSUER_METADATA)),
    ("GET", _AS_METADATA): (authorization_server_metadata, RouteLabel(_AS_METADATA)),
}
_PREFIXED: tuple[tuple[str, str, Handler, RouteLabel], ...] = (
    ("GET", CREDENTIAL_OFFER_PATH + "/", credential_offer, RouteLabel(CREDENTIAL_OFFER_PATH + "/{reference}")),
    ("GET", _ISSUER_METADATA + "/", issuer_metadata, RouteLabel(_ISSUER_METADATA + "/{path}")),
    ("GET", _AS_METADATA + "/", authorization_server_metadata, RouteLabel(_AS_METADATA + "/{path}")),
)


def _route(method: str, path: str) -> tuple[Handler, RouteLabel] | None:
    found = _EXACT.get((method, path))
    if found is not None:
        return found
    for route_method, prefix, handler, label in _PREFIXED:
        if method == route_method and path.startswith(prefix) and len(path) > len(prefix):
            if handler is credential_offer and "/" in path[len(prefix) :]:
                return None
            return handler, label
    return None


async def read_body(receive: Receive) -> bytes:
    """Return the whole request body."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client went away
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def request_of(scope: Scope, body: bytes) -> WalletRequest:
    """Return the wallet request of an ASGI scope and its body."""
    return wallet_request(scope["path"], scope["headers"], body, scope.get("client"))


def wallet_request(
    path: str, raw_headers: Iterable[tuple[bytes, bytes]], body: bytes, client: tuple[str, int] | None
) -> WalletRequest:
    """Return the wallet request of a path, the request's header byte pairs, its body and the client's address; a
    repeated header's values are joined with ", " (RFC 9110 §5.3), so a second ``DPoP`` or ``Authorization`` header
    is seen, not dropped."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw_headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return WalletRequest(
        path=path,
        host=headers.get("host"),
        headers=headers,
        body=body,
        client_host=client[0] if client else None,
    )


def source_address(container: Container, request: WalletRequest) -> str | None:
    """The address a request came from: the connection's, or (behind a trusted proxy, ``trust_forwarded_for``) the
    last ``X-Forwarded-For`` entry, the one the proxy added."""
    if container.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.rpartition(",")[2].strip() or request.client_host
    return request.client_host


def header_list(request: WalletRequest, name: str) -> list[str]:
    """Return the values of a header whose values never contain a comma (JWTs), one per occurrence."""
    value = request.headers.get(name)
    return [] if value is None else [part.strip() for part in value.split(",")]


async def present_credentials(
    container: Container, tenant: WalletTenant, request: WalletRequest, url: str | None
) -> PresentedCredentials:
    """Check the request's DPoP proof (bound to ``url``) and collect its wallet attestation, under the tenant's
    policy."""
    return await container.wallet_auth.present(
        tenant,
        dpop_proofs=header_list(request, "dpop"),
        attestation=request.headers.get(ATTESTATION_HEADER),
        attestation_pop=request.headers.get(ATTESTATION_POP_HEADER),
        url=url,
    )


class WalletEndpoints:
    """An ASGI app: the wallet handlers for their routes, ``fallback`` (the FastAPI app) for everything else."""

    def __init__(self, container: Container, fallback: ASGIApp) -> None:
        self._container = container
        self._fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.route(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self._fallback(scope, receive, send)
            return
        handler, label = route
        scope["route"] = label
        try:
            body = await read_body(receive)
        except IssuerError as exc:  # a body over the request middleware's limit (413)
            response = error_response(exc)
        except Exception:
            log.exception("unhandled error", extra={"route": label.path})
            response = json_response(SERVER_ERROR, status=500, headers=NO_STORE)
        else:
            response = await self.respond(handler, label, request_of(scope, body))
        await send_response(response, send)

    @staticmethod
    def route(method: str, path: str) -> tuple[Handler, RouteLabel] | None:
        """The handler and route template of a request, or None when the fallback answers it. A NUL in the path
        goes to the fallback, whose edge check refuses it."""
        return None if "\x00" in path else _route(method, path)

    async def respond(self, handler: Handler, label: RouteLabel, request: WalletRequest) -> WalletResponse:
        """Run a handler; an IssuerError becomes its error response, anything else a logged 500."""
        try:
            return await handler(self._container, request)
        except IssuerError as exc:
            return error_response(exc)
        except Exception:
            log.exception("unhandled error", extra={"route": label.path})
            return json_response(SERVER_ERROR, status=500, headers=NO_STORE)


def response_headers(response: WalletResponse) -> list[tuple[bytes, bytes]]:
    """A wallet response's headers as (lower-case name, value) byte pairs, its media type and length first."""
    return [
        (b"content-type", response.media_type),
        (b"content-length", str(len(response.body)).encode()),
        *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.headers.items()),
    ]


async def send_response(response: WalletResponse, send: Send) -> None:
    """Send a wallet response."""
    await send({"type": "http.response.start", "status": response.status, "headers": response_headers(response)})
    await send({"type": "http.response.body", "body": response.body})
