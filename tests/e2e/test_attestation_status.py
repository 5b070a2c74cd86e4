"""The revocation status of wallet attestations and key attestations: their ``status.status_list`` entry, in a
Token Status List a wallet provider publishes on a real loopback server, read through the guarded outbound client.
The lists are made here, on joserfc, zlib and the test PKI (none of the server's code); a negative test per rule."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from oi_haip import Pki, WalletInstance, b64url, jwt_proof, key_attestation, new_key
from oi_issuer import Setup, make_setup
from oi_wallet import PRE_AUTHORIZED_GRANT, Wallet

ISSUER = "https://issuer.example"
REVOKED, SUSPENDED = 1, 2


@dataclass
class ListHost:
    """A wallet provider's status list endpoint: ``bodies`` by path, and how many GETs each path got."""

    base: str
    bodies: dict[str, bytes] = field(default_factory=dict)
    fetched: dict[str, int] = field(default_factory=dict)

    def uri(self, path: str) -> str:
        return f"{self.base}{path}"


@contextmanager
def list_host() -> Iterator[ListHost]:
    state: dict[str, ListHost] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = state["host"]
            host.fetched[self.path] = host.fetched.get(self.path, 0) + 1
            body = host.bodies.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("content-type", "application/statuslist+jwt")
            self.send_header("content-length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["host"] = ListHost(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["host"]
    finally:
        server.shutdown()
        server.server_close()


def status_list_jwt(
    pki: Pki, uri: str, statuses: dict[int, int], *, size: int = 1024, bits: int = 2, **claims: Any
) -> bytes:
    """A Status List Token (draft-ietf-oauth-status-list §5.1) of ``size`` entries, written from the draft."""
    array = bytearray(size * bits // 8)
    for index, value in statuses.items():
        array[index * bits // 8] |= value << (index * bits % 8)
    now = int(time.time())
    body: dict[str, Any] = {
        "sub": uri,
        "iat": now,
        "exp": now + 3600,
        "status_list": {"bits": bits, "lst": b64url(zlib.compress(bytes(array)))},
    }
    body.update(claims)
    return pki.sign({"typ": "statuslist+jwt"}, {k: v for k, v in body.items() if v is not None}).encode()


def reference(uri: str, index: int) -> dict[str, Any]:
    return {"status_list": {"idx": index, "uri": uri}}


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"outbound_allow_private": True}


@pytest.fixture
def pki() -> Pki:
    return Pki()


@pytest.fixture
def host() -> Iterator[ListHost]:
    with list_host() as running:
        yield running


@pytest.fixture
async def setup(api: Any, pki: Pki) -> Setup:
    setup = await make_setup(api)
    policy = {
        "clientAttestation": {"required": True, "rootCertificates": [pki.anchor_pem]},
        "keyAttestation": {"rootCertificates": [pki.anchor_pem]},
    }
    response = await api.http.put("/v1/openid/wallet-security", headers=setup.headers, json=policy)
    assert response.status_code == 200, response.text
    return setup


async def read_code(setup: Setup) -> str:
    offer = await Wallet(setup.api.http).read_offer((await setup.offer())["uri"])
    return str(offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"])


async def token(setup: Setup, code: str, instance: WalletInstance, **attestation_claims: Any) -> Any:
    headers = {
        "OAuth-Client-Attestation": instance.attestation(**attestation_claims),
        "OAuth-Client-Attestation-PoP": instance.pop(ISSUER),
    }
    data = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code}
    return await setup.api.http.post("/v1/oauth/token", data=data, headers=headers)


def assert_refused(response: Any, error: str, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert words in response.json()["error_description"], response.text


async def test_a_valid_entry_is_accepted_and_the_list_fetched_once_per_ttl(
    setup: Setup, pki: Pki, host: ListHost
) -> None:
    host.bodies["/wallets"] = status_list_jwt(pki, host.uri("/wallets"), {7: REVOKED}, ttl=60)
    instance = WalletInstance(pki)
    for _ in range(2):
        response = await token(setup, await read_code(setup), instance, status=reference(host.uri("/wallets"), 3))
        assert response.status_code == 200, response.text
    assert host.fetched == {"/wallets": 1}  # kept for its ttl

    # The provider revokes entry 3: seen once the ttl has passed.
    host.bodies["/wallets"] = status_list_jwt(pki, host.uri("/wallets"), {3: REVOKED}, ttl=60)
    setup.api.clock.advance(seconds=61)
    response = await token(setup, await read_code(setup), instance, status=reference(host.uri("/wallets"), 3))
    assert_refused(response, "invalid_client", 401, "client attestation is invalid")
    assert host.fetched == {"/wallets": 2}


@pytest.mark.parametrize(("value", "words"), [(REVOKED, "is invalid"), (SUSPENDED, "is suspended"), (3, "status 3")])
async def test_an_entry_that_is_not_valid_is_refused_and_the_offer_kept(
    setup: Setup, pki: Pki, host: ListHost, value: int, words: str
) -> None:
    host.bodies["/l"] = status_list_jwt(pki, host.uri("/l"), {5: value})
    code = await read_code(setup)
    instance = WalletInstance(pki)
    refused = await token(setup, code, instance, status=reference(host.uri("/l"), 5))
    assert_refused(refused, "invalid_client", 401, words)
    # The refused request used nothing up: the same offer is claimed by an instance in good standing.
    response = await token(setup, code, instance, status=reference(host.uri("/l"), 6))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("serve", "index", "words"),
    [
        (lambda pki, uri: None, 0, "HTTP 404"),  # nothing published there
        (lambda pki, uri: status_list_jwt(Pki(), uri, {}), 0, "not from a trusted signer"),
        (lambda pki, uri: status_list_jwt(pki, uri + "/other", {}), 0, "sub is not the URI"),
        (lambda pki, uri: status_list_jwt(pki, uri, {}, exp=int(time.time()) - 10), 0, "expired"),
        (lambda pki, uri: status_list_jwt(pki, uri, {}, size=16), 16, "no entry 16"),
        (lambda pki, uri: status_list_jwt(pki, uri, {}, status_list={"bits": 3, "lst": "eJwDAAAAAAE"}), 0, "bits"),
        (lambda pki, uri: status_list_jwt(pki, uri, {}, status_list={"bits": 1, "lst": "AAAA"}), 0, "ZLIB"),
        (lambda pki, uri: b"not a token", 0, "not a valid JWT"),
    ],
)
async def test_a_status_that_cannot_be_read_is_refused(
    setup: Setup, pki: Pki, host: ListHost, serve: Any, index: int, words: str
) -> None:
    body = serve(pki, host.uri("/l"))
    if body is not None:
        host.bodies["/l"] = body
    response = await token(setup, await read_code(setup), WalletInstance(pki), status=reference(host.uri("/l"), index))
    assert_refused(response, "invalid_client", 401, words)


async def test_a_failure_is_kept_for_a_moment(setup: Setup, pki: Pki, host: ListHost) -> None:
    """A list that cannot be read is not fetched again by every request for 5 seconds (they are refused)."""
    instance = WalletInstance(pki)
    for _ in range(3):
        response = await token(setup, await read_code(setup), instance, status=reference(host.uri("/gone"), 0))
        assert_refused(response, "invalid_client", 401, "could not be")
    assert host.fetched == {"/gone": 1}
    host.bodies["/gone"] = status_list_jwt(pki, host.uri("/gone"), {})
    setup.api.clock.advance(seconds=6)
    response = await token(setup, await read_code(setup), instance, status=reference(host.uri("/gone"), 0))
    assert response.status_code == 200, response.text
    assert host.fetched == {"/gone": 2}


@pytest.mark.parametrize("claims", [{"ttl": 10**14}, {"exp": 10**12}, {"ttl": 2**53 - 1, "exp": 2**53 - 1}])
async def test_huge_times_are_read_as_for_ever(setup: Setup, pki: Pki, host: ListHost, claims: dict[str, int]) -> None:
    host.bodies["/l"] = status_list_jwt(pki, host.uri("/l"), {1: REVOKED}, **claims)
    instance = WalletInstance(pki)
    response = await token(setup, await read_code(setup), instance, status=reference(host.uri("/l"), 0))
    assert response.status_code == 200, response.text
    refused = await token(setup, await read_code(setup), instance, status=reference(host.uri("/l"), 1))
    assert_refused(refused, "invalid_client", 401, "is invalid")


async def test_a_list_bomb_is_refused(setup: Setup, pki: Pki, host: ListHost) -> None:
    """A few KB that inflate past 16 MB are refused without inflating them whole."""
    bomb = b64url(zlib.compress(bytes(17 * 1024 * 1024), 9))
    host.bodies["/l"] = status_list_jwt(pki, host.uri("/l"), {}, status_list={"bits": 1, "lst": bomb})
    response = await token(setup, await read_code(setup), WalletInstance(pki), status=reference(host.uri("/l"), 0))
    assert_refused(response, "invalid_client", 401, "inflates past")


@pytest.mark.parametrize(
    "status",
    [
        "revoked",
        {"status_list": "x"},
        {"status_list": {"idx": -1, "uri": "https://p.example/l"}},
        {"status_list": {"idx": True, "uri": "https://p.example/l"}},
        {"status_list": {"idx": 1}},
    ],
)
async def test_a_malformed_status_claim_is_refused_without_a_fetch(
    setup: Setup, pki: Pki, host: ListHost, status: object
) -> None:
    response = await token(setup, await read_code(setup), WalletInstance(pki), status=status)
    assert_refused(response, "invalid_client", 401, "status")
    assert host.fetched == {}


async def test_a_status_list_on_a_private_address_is_refused_by_the_outbound_guard(
    api: Any, pki: Pki, tmp_path: Any
) -> None:
    """With the guard on (production), a status URI on a loopback or private address is never fetched."""
    setup = await make_setup(api)
    policy = {"clientAttestation": {"required": True, "rootCertificates": [pki.anchor_pem]}}
    assert (await api.http.put("/v1/openid/wallet-security", headers=setup.headers, json=policy)).status_code == 200
    api.container.wallet_auth._statuses._fetcher._guard.allow_private = False  # as in production
    with list_host() as host:
        host.bodies["/l"] = status_list_jwt(pki, host.uri("/l"), {})
        response = await token(setup, await read_code(setup), WalletInstance(pki), status=reference(host.uri("/l"), 0))
        assert_refused(response, "invalid_client", 401, "could not be fetched")
        assert host.fetched == {}


async def test_an_attestation_without_a_status_needs_no_list(setup: Setup, pki: Pki) -> None:
    response = await token(setup, await read_code(setup), WalletInstance(pki))
    assert response.status_code == 200, response.text


async def test_a_key_attestations_status_is_checked_at_the_credential_endpoint(
    setup: Setup, pki: Pki, host: ListHost
) -> None:
    host.bodies["/keys"] = status_list_jwt(pki, host.uri("/keys"), {9: REVOKED})
    instance = WalletInstance(pki)
    response = await token(setup, await read_code(setup), instance)
    access_token = response.json()["access_token"]
    wallet = Wallet(setup.api.http)
    metadata, _ = await wallet.discover(ISSUER)

    async def credential(index: int) -> Any:
        key = new_key()
        nonce = await wallet.nonce(metadata)
        attestation = key_attestation(pki, [key], nonce=nonce, status=reference(host.uri("/keys"), index))
        body = {
            "credential_configuration_id": setup.configuration_id,
            "proofs": {"jwt": [jwt_proof(key, ISSUER, nonce, attestation, iss=instance.client_id)]},
        }
        return await wallet.credential(metadata, access_token, body)

    assert_refused(await credential(9), "invalid_proof", 400, "key attestation is invalid")
    response = await credential(8)
    assert response.status_code == 200, response.text
    assert host.fetched == {"/keys": 1}
