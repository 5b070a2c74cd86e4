"""A cheap OID4VCI 1.0 wallet for load generation: lean_http + ``cryptography``, none of the issuers' code.

It is a correct wallet for the Pre-authorized Code flow, only without the comforts: it parses the Credential Offer
(by value, or by reference by fetching ``credential_offer_uri``), discovers the issuer and authorization server
metadata once (RFC 8414 / OID4VCI §12.2.2 path insertion), and for each offer runs **token -> nonce ->
credential**: a form-encoded token request with the ``pre-authorized_code``, a ``POST`` to the ``nonce_endpoint``,
and a credential request ``{"credential_configuration_id", "proofs": {"jwt": [proof]}}`` with the access token as
``Authorization: Bearer``. The proof is an ``openid4vci-proof+jwt`` (ES256, the wallet's public key as ``jwk``,
``aud`` = the credential issuer, ``iat``, ``nonce`` = the fresh ``c_nonce``). Every response's status and the
fields the next step needs are checked; anything else fails the flow with a ``FlowError``.

What keeps it cheap: one keep-alive connection per wallet, request heads built once per wallet, one P-256 key per
wallet made once (the JWS header with its ``jwk`` is encoded once too), ``json`` parsing only of the answers whose
fields are needed, and no HTTP library (see lean_http.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lean_http import Client, Connection, Url

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
STEPS = ("token", "nonce", "credential")
_ES256 = ec.ECDSA(hashes.SHA256())
_TOKEN_BODY_PREFIX = ("grant_type=" + quote(PRE_AUTHORIZED_GRANT, safe="") + "&pre-authorized_code=").encode()


class FlowError(Exception):
    """A step did not answer as OID4VCI / OAuth say it must (or as the bench needs: no tx_code)."""


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def b64url_decode(text: str | bytes) -> bytes:
    if isinstance(text, str):
        text = text.encode()
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


@dataclass(frozen=True)
class Offer:
    """What a wallet keeps from a Credential Offer with a pre-authorized code."""

    credential_issuer: str
    configuration_id: str
    pre_authorized_code: str


def parse_offer(offer: dict[str, Any]) -> Offer:
    """Check a Credential Offer object (OID4VCI §4.1.1) and keep the first configuration and the code."""
    try:
        grant = offer["grants"][PRE_AUTHORIZED_GRANT]
        code = grant["pre-authorized_code"]
        configuration = offer["credential_configuration_ids"][0]
        issuer = offer["credential_issuer"]
    except (KeyError, IndexError, TypeError) as exc:
        raise FlowError(f"not a pre-authorized Credential Offer: missing {exc}") from exc
    if "tx_code" in grant:
        raise FlowError("the offer needs a transaction code; the bench's offers have none")
    if not all(isinstance(value, str) and value for value in (code, configuration, issuer)):
        raise FlowError("offer fields must be non-empty strings")
    return Offer(issuer, configuration, code)


async def resolve_offer(client: Client, uri: str) -> Offer:
    """Parse ``openid-credential-offer://?credential_offer=…`` or fetch its ``credential_offer_uri`` (GET)."""
    params = parse_qs(urlsplit(uri).query)
    if "credential_offer" in params:
        return parse_offer(json.loads(params["credential_offer"][0]))
    if "credential_offer_uri" in params:
        response = await client.call(
            "GET", params["credential_offer_uri"][0], headers=(("Accept", "application/json"),)
        )
        if response.status != 200:
            raise FlowError(f"credential_offer_uri: HTTP {response.status} {response.body[:300]!r}")
        return parse_offer(json.loads(response.body))
    raise FlowError(f"not a Credential Offer URI: {uri[:80]!r}")


def well_known(identifier: str, name: str) -> str:
    """RFC 8414 §3.1 / OID4VCI §12.2.2: ``https://h/tenant`` -> ``https://h/.well-known/<name>/tenant``."""
    parts = urlsplit(identifier)
    return f"{parts.scheme}://{parts.netloc}/.well-known/{name}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class Metadata:
    """What the wallet keeps from the issuer's and the authorization server's metadata."""

    credential_issuer: str
    token_endpoint: Url
    nonce_endpoint: Url
    credential_endpoint: Url
    configuration_ids: frozenset[str]


async def _get_json(client: Client, url: str, what: str) -> dict[str, Any]:
    response = await client.call("GET", url, headers=(("Accept", "application/json"),))
    if response.status != 200:
        raise FlowError(f"{what} {url}: HTTP {response.status}")
    document = json.loads(response.body)
    if not isinstance(document, dict):
        raise FlowError(f"{what}: not a JSON object")
    return document


async def discover(client: Client, credential_issuer: str) -> Metadata:
    """Fetch the Credential Issuer metadata and its authorization server's metadata (once; wallets cache them)."""
    issuer = await _get_json(client, well_known(credential_issuer, "openid-credential-issuer"), "issuer metadata")
    if issuer.get("credential_issuer") != credential_issuer:
        raise FlowError("issuer metadata: credential_issuer does not match the offer")
    if "nonce_endpoint" not in issuer:
        raise FlowError("issuer metadata: no nonce_endpoint (the bench's flow needs one)")
    authorization_server = (issuer.get("authorization_servers") or [credential_issuer])[0]
    oauth = await _get_json(client, well_known(authorization_server, "oauth-authorization-server"), "AS metadata")
    if oauth.get("issuer") != authorization_server:
        raise FlowError("authorization server metadata: issuer does not match")
    return Metadata(
        credential_issuer=credential_issuer,
        token_endpoint=Url.parse(oauth["token_endpoint"]),
        nonce_endpoint=Url.parse(issuer["nonce_endpoint"]),
        credential_endpoint=Url.parse(issuer["credential_endpoint"]),
        configuration_ids=frozenset(issuer.get("credential_configurations_supported", {})),
    )


def _head(method: str, url: Url, *headers: str) -> bytes:
    """A request head up to and including the name of its last header (the caller appends the value)."""
    return "\r\n".join([f"{method} {url.target} HTTP/1.1", f"Host: {url.authority}", *headers]).encode()


def _answer(step: str, status: int, body: bytes, field_name: str) -> Any:
    """The JSON body's ``field_name`` of a 200 answer; anything else is a FlowError naming the step."""
    return _document(step, status, body, field_name)[field_name]


def _document(step: str, status: int, body: bytes, *required: str) -> dict[str, Any]:
    """The JSON object of a 200 answer that has the ``required`` fields; anything else is a FlowError."""
    if status != 200:
        raise FlowError(f"{step}: HTTP {status} {body[:300]!r}")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise FlowError(f"{step}: the answer is not JSON") from exc
    if not isinstance(document, dict) or any(name not in document for name in required):
        raise FlowError(f"{step}: the answer lacks {', '.join(required)}")
    return document


Probe = Callable[[str], Awaitable[None]]


@dataclass
class Wallet:
    """One wallet: its own P-256 key and keep-alive connection(s); claims one credential per offer, in sequence."""

    metadata: Metadata
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        numbers = self.key.public_key().public_numbers()
        self.x = numbers.x.to_bytes(32, "big")
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(self.x).decode(),
            "y": b64url(numbers.y.to_bytes(32, "big")).decode(),
        }
        header = {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": jwk}
        self._header = b64url(json.dumps(header, separators=(",", ":")).encode()) + b"."
        self._aud = json.dumps(self.metadata.credential_issuer)
        meta = self.metadata
        connections: dict[str, Connection] = {}
        for url in (meta.token_endpoint, meta.nonce_endpoint, meta.credential_endpoint):
            connections.setdefault(url.authority, Connection(url.host, url.port))
        self._token_connection = connections[meta.token_endpoint.authority]
        self._nonce_connection = connections[meta.nonce_endpoint.authority]
        self._credential_connection = connections[meta.credential_endpoint.authority]
        self._connections = list(connections.values())
        self._token_head = _head(
            "POST", meta.token_endpoint, "Content-Type: application/x-www-form-urlencoded", "Content-Length: "
        )
        self._nonce_request = _head("POST", meta.nonce_endpoint, "Content-Length: 0") + b"\r\n\r\n"
        self._credential_head = _head(
            "POST", meta.credential_endpoint, "Content-Type: application/json", "Authorization: Bearer "
        )

    @property
    def connects(self) -> int:
        return sum(connection.connects for connection in self._connections)

    def close(self) -> None:
        for connection in self._connections:
            connection.close()

    def proof(self, nonce: str) -> bytes:
        """An ``openid4vci-proof+jwt`` over ``nonce`` (compact JWS, ES256, raw r || s signature)."""
        payload = f'{{"aud":{self._aud},"iat":{int(time.time())},"nonce":{json.dumps(nonce)}}}'
        signing_input = self._header + b64url(payload.encode())
        r, s = decode_dss_signature(self.key.sign(signing_input, _ES256))
        return signing_input + b"." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    async def claim(self, offer: Offer, timings: dict[str, list[float]], probe: Probe | None = None) -> str:
        """Run token -> nonce -> credential for ``offer``; append each step's latency (s); return the credential.

        ``probe`` (for the round-trip count only) is awaited after each step with the step's name.
        """
        started = time.perf_counter()
        body = _TOKEN_BODY_PREFIX + quote(offer.pre_authorized_code, safe="").encode()
        response = await self._token_connection.send(self._token_head + b"%d\r\n\r\n" % len(body) + body)
        after_token = time.perf_counter()
        token = _document("token", response.status, response.body, "access_token", "token_type")
        if token["token_type"].lower() != "bearer":  # RFC 6749 §7.1: case-insensitive; no DPoP here
            raise FlowError(f"token: token_type {token['token_type']!r}, the bench sends Bearer tokens")
        access_token = token["access_token"]
        if probe is not None:
            await probe("token")
        before_nonce = time.perf_counter()
        response = await self._nonce_connection.send(self._nonce_request)
        after_nonce = time.perf_counter()
        nonce = _answer("nonce", response.status, response.body, "c_nonce")
        if probe is not None:
            await probe("nonce")
        body = (
            b'{"credential_configuration_id":'
            + json.dumps(offer.configuration_id).encode()
            + b',"proofs":{"jwt":["'
            + self.proof(nonce)
            + b'"]}}'
        )
        before_credential = time.perf_counter()
        response = await self._credential_connection.send(
            self._credential_head + access_token.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        done = time.perf_counter()
        credentials = _answer("credential", response.status, response.body, "credentials")
        try:
            credential = credentials[0]["credential"]
        except (IndexError, KeyError, TypeError) as exc:
            raise FlowError("credential: no credentials[0].credential") from exc
        if probe is not None:
            await probe("credential")
        timings["token"].append(after_token - started)
        timings["nonce"].append(after_nonce - before_nonce)
        timings["credential"].append(done - before_credential)
        timings["flow"].append(done - started)
        timings["bytes"].append(len(credential))
        return str(credential)

    def check_bound(self, credential: str) -> None:
        """Check that an mDoc IssuerSigned's device key is this wallet's key (a sanity check, not a verification)."""
        issuer_signed = cbor2.loads(b64url_decode(credential))
        mso = cbor2.loads(issuer_signed["issuerAuth"][2])
        mso = cbor2.loads(mso.value if isinstance(mso, cbor2.CBORTag) else mso)
        device_key = mso["deviceKeyInfo"]["deviceKey"]
        if device_key.get(-2) != self.x:
            raise FlowError("the credential is not bound to the wallet's key")


def new_timings() -> dict[str, list[float]]:
    return {step: [] for step in (*STEPS, "flow", "bytes")}


@dataclass
class FlowResult:
    issued: int
    seconds: float
    timings: dict[str, list[float]]
    errors: list[str]
    connects: int


async def run_flows(
    metadata: Metadata,
    offers: list[Offer],
    wallets: int,
    deadline: float,
    *,
    max_errors: int = 50,
    new_connection_per_flow: bool = False,
) -> FlowResult:
    """``wallets`` concurrent wallets (each its own key and connection) claim one credential per offer.

    Stops when the offers are used up, at ``deadline`` (time.monotonic()), or after ``max_errors`` failed flows.
    A failed flow is counted and reported, never retried. With ``new_connection_per_flow`` each flow opens its
    own connection (as a new wallet device would; the connect is part of the token step), otherwise a wallet keeps
    its connection from flow to flow.
    """
    pool = [Wallet(metadata) for _ in range(wallets)]
    timings = new_timings()
    errors: list[str] = []
    position = 0
    issued = 0

    async def run(wallet: Wallet) -> None:
        nonlocal position, issued
        checked = False
        while position < len(offers) and len(errors) < max_errors and time.monotonic() < deadline:
            offer = offers[position]
            position += 1
            if new_connection_per_flow:
                wallet.close()
            try:
                credential = await wallet.claim(offer, timings)
                if not checked:  # once per wallet: the credential is bound to this wallet's key
                    wallet.check_bound(credential)
                    checked = True
                issued += 1
            except Exception as exc:  # counted and reported by the caller
                errors.append(f"{type(exc).__name__}: {exc}"[:400])

    started = time.perf_counter()
    try:
        await asyncio.gather(*(run(wallet) for wallet in pool))
    finally:
        for wallet in pool:
            wallet.close()
    seconds = time.perf_counter() - started
    return FlowResult(issued, seconds, timings, errors, sum(wallet.connects for wallet in pool))
