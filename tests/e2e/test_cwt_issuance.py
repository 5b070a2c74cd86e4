"""CWT credentials over OID4VCI (Pre-authorized Code flow here, Authorization Code flow in
``test_cwt_authorization_code.py``), checked by an independent implementation: python-cwt with the key of the
DID document the issuer serves, resolved over HTTP as a verifier would. Revocation through the API, ``/verify``
and the public list. On memory, SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
from typing import Any

import cbor2
import cwt
import pytest
from cwt import COSEKey

from oi_cwt import CLAIMS, compact_bytes, create_cwt_configuration, did_document_url, verify_with_python_cwt
from oi_wallet import Wallet
from openissuer.crypto.base64url import encode_base64url
from openissuer.domain.ids import DEFAULT_TENANT_ID

ISSUER_DID = "did:web:issuer.example"
LISTS = "https://issuer.example/v2/credentials/compact/revocation-lists/"


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


async def _issue(api: Any, headers: dict[str, str], configuration_id: str, **body: Any) -> tuple[Wallet, Any]:
    offer = await api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=headers,
        json={"credentials": [configuration_id], "claims": CLAIMS},
    )
    assert offer.status_code == 200, offer.text
    wallet = Wallet(api.http)
    credential_offer = await wallet.read_offer(offer.json()["uri"])
    metadata, _ = await wallet.discover(credential_offer["credential_issuer"])
    token = await wallet.token(credential_offer)
    assert token.status_code == 200, token.text
    request = {"credential_configuration_id": configuration_id, **body}
    if body.get("proofs") == "make":
        request["proofs"] = {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]}
    return wallet, await wallet.credential(metadata, token.json()["access_token"], request)


async def test_a_cwt_issued_over_oid4vci_verifies_with_python_cwt_and_the_served_did_document(api: Any) -> None:
    headers = await api.auth()
    configuration = await create_cwt_configuration(api, headers)
    assert configuration["revocable"] is True  # the reference's default
    metadata = (await api.http.get("/.well-known/openid-credential-issuer")).json()
    entry = metadata["credential_configurations_supported"][configuration["id"]]
    assert entry["format"] == "cwt" and entry["type"] == "Course Credential"
    # a bearer credential: no binding methods and no proof types (OID4VCI 1.0 errata)
    assert "cryptographic_binding_methods_supported" not in entry and "proof_types_supported" not in entry
    _, response = await _issue(api, headers, configuration["id"])
    assert response.status_code == 200, response.text
    encoded = response.json()["credentials"][0]["credential"]

    claims = await verify_with_python_cwt(api.http, encoded)
    assert claims[1] == ISSUER_DID
    assert claims[-65539] == "Course Credential"
    assert {k: claims[k] for k in ("name", "code", "level", "issuerName")} == {
        "name": "Emma Jane Tasma",
        "code": "HS.278",
        "level": 4,
        "issuerName": "Advanced Safety Training",
    }
    assert claims[6] == claims[5] == int(api.clock.now().timestamp())
    assert claims[4] - claims[6] == 365 * 86400
    status = claims[-65537]
    assert set(status) == {2, 3} and status[3].startswith(LISTS) and 0 <= status[2] < 1_000_000

    # the exact envelope of §9.2
    sign1 = cbor2.loads(compact_bytes(encoded))
    protected, unprotected, payload, signature = sign1.value
    header = cbor2.loads(protected)
    assert sign1.tag == 18 and set(header) == {1, 4} and header[1] == -7 and len(header[4]) == 8
    assert unprotected == {} and len(signature) == 64
    cti = cbor2.loads(payload)[7]
    assert isinstance(cti, cbor2.CBORTag) and cti.tag == 64 and len(cti.value) == 16
    async with api.container.uow_factory() as uow:
        record = await uow.issued_credentials.get(DEFAULT_TENANT_ID, encode_base64url(cti.value))
    assert record is not None and (record.format, record.profile) == ("cwt", "compact")
    assert record.status_reference is not None
    assert (record.status_reference.index, LISTS + record.status_reference.list_id) == (status[2], status[3])
    assert record.holder_key_thumbprint is None and "Emma" not in str(record.details)


async def test_a_proof_that_is_sent_is_checked_but_not_bound(api: Any) -> None:
    headers = await api.auth()
    configuration = await create_cwt_configuration(api, headers, revocable=False)
    _, refused = await _issue(api, headers, configuration["id"], proofs={"jwt": ["not-a-proof"]})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_proof"
    wallet, accepted = await _issue(api, headers, configuration["id"], proofs="make")
    assert accepted.status_code == 200, accepted.text
    claims = await verify_with_python_cwt(api.http, accepted.json()["credentials"][0]["credential"])
    assert 8 not in claims and -65537 not in claims  # no cnf, and not revocable
    assert wallet.key.as_dict(private=False)["x"] not in str(claims)


async def _public_list(api: Any, url: str) -> bytes:
    """Fetch the public list and check it with python-cwt and the DID document's key; return its bitstring."""
    response = await api.http.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "application/cwt"
    sign1 = cbor2.loads(response.content)
    kid = cbor2.loads(sign1.value[0])[4].decode()
    document = (await api.http.get(did_document_url(ISSUER_DID))).json()
    (method,) = [m for m in document["verificationMethod"] if m["id"] == f"{ISSUER_DID}#{kid}"]
    claims = cwt.decode(response.content, keys=[COSEKey.from_jwk({**method["publicKeyJwk"], "kid": kid})])
    assert claims[1] == ISSUER_DID and claims[2] == url
    bits = gzip.decompress(claims[-65538])
    assert len(bits) == 125_000
    return bits


def _bit(bits: bytes, index: int) -> int:
    return (bits[index // 8] >> (7 - index % 8)) & 1


async def test_revoking_fails_verify_and_shows_in_the_public_list_until_un_revoked(api: Any) -> None:
    headers = await api.auth()
    configuration = await create_cwt_configuration(api, headers)
    _, response = await _issue(api, headers, configuration["id"])
    encoded = response.json()["credentials"][0]["credential"]
    claims = await verify_with_python_cwt(api.http, encoded)
    index, url = claims[-65537][2], claims[-65537][3]
    credential_id = encode_base64url(claims[7].value)
    status_path = f"/v2/credentials/compact/{credential_id}/revocation-status"

    async def verify() -> dict[str, Any]:
        result = await api.http.post("/v2/credentials/compact/verify", headers=headers, json={"payload": encoded})
        assert result.status_code == 200, result.text
        return dict(result.json())

    assert (await verify())["verified"] is True
    assert (await api.http.get(status_path, headers=headers)).json() == {"id": credential_id, "isRevoked": False}
    assert _bit(await _public_list(api, url), index) == 0

    revoked = await api.http.post(status_path, headers=headers, json={"isRevoked": True})
    assert revoked.status_code == 200 and revoked.json() == {"id": credential_id, "isRevoked": True}
    result = await verify()
    assert result["verified"] is False and result["error"]["type"] == "Revoked"
    assert result["decoded"]["jti"] == credential_id
    bits = await _public_list(api, url)
    assert _bit(bits, index) == 1 and sum(bin(b).count("1") for b in bits) == 1
    lists = (await api.http.get("/v2/credentials/compact/revocation-lists", headers=headers)).json()["data"]
    assert [(item["url"], item["revokedCount"], item["listSize"]) for item in lists] == [(url, 1, 1_000_000)]

    assert (await api.http.post(status_path, headers=headers, json={"isRevoked": False})).json()["isRevoked"] is False
    assert (await verify())["verified"] is True
    assert _bit(await _public_list(api, url), index) == 0
    unchecked = await api.http.post(
        "/v2/credentials/compact/verify", headers=headers, json={"payload": encoded, "checkRevocation": False}
    )
    assert unchecked.json()["verified"] is True


async def test_revocation_status_of_unknown_and_non_revocable_credentials(api: Any) -> None:
    headers = await api.auth()
    configuration = await create_cwt_configuration(api, headers, revocable=False)
    _, response = await _issue(api, headers, configuration["id"])
    claims = await verify_with_python_cwt(api.http, response.json()["credentials"][0]["credential"])
    path = f"/v2/credentials/compact/{encode_base64url(claims[7].value)}/revocation-status"
    refused = await api.http.post(path, headers=headers, json={"isRevoked": True})
    assert refused.status_code == 400 and refused.json()["message"] == "The credential is not revocable"
    unknown = await api.http.get("/v2/credentials/compact/no-such-id/revocation-status", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "NotFound"
    assert (await api.http.get(LISTS.removeprefix("https://issuer.example") + "nope")).status_code == 404
