"""A credential format defined only in the tests goes from configuration to issuance through the generic
management API and the issuance pipeline, on memory, SQLite and PostgreSQL; nothing under src/ names it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.jwk import ECKey

from oi_test_format import JwsTestFormat
from oi_wallet import Wallet
from openissuer.bootstrap import default_formats
from openissuer.domain.ids import DEFAULT_TENANT_ID

SRC = Path(__file__).parents[2] / "src"


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


@pytest.fixture
def api_formats() -> list[object]:
    return [*default_formats(), JwsTestFormat(), JwsTestFormat(bearer=True)]


async def _issuer(api: Any, profile: str, **body: Any) -> tuple[dict[str, str], dict[str, Any], x509.Certificate]:
    headers = await api.auth()
    iaca = (await api.http.post("/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"})).json()
    await api.http.put(f"/v2/credentials/mobile/iacas/{iaca['id']}", headers=headers, json={"active": True})
    configuration = await api.http.post(
        f"/v2/credentials/{profile}/configurations",
        headers=headers,
        json={
            "type": "test:membership",
            "claimMappings": {
                "name": {"mapFrom": "claims.name", "required": True},
                "level": {"mapFrom": "claims.level", "type": "number"},
            },
            **body,
        },
    )
    assert configuration.status_code == 201, configuration.text
    return headers, configuration.json(), x509.load_pem_x509_certificate(iaca["certificatePem"].encode())


def _verify(token: str, root: x509.Certificate) -> dict[str, Any]:
    """Verify the JWS with joserfc using the x5c leaf, and the leaf's chain to the IACA with cryptography."""
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    leaf.verify_directly_issued_by(root)
    public = leaf.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    key = ECKey.import_key(public)
    registry = jws.JWSRegistry(algorithms=["ES256"])
    registry.max_header_length = 4096  # the header carries a certificate
    return dict(json.loads(jws.deserialize_compact(token, key, registry=registry).payload))


async def test_a_plugin_format_is_configured_published_and_issued(api: Any) -> None:
    headers, configuration, root = await _issuer(api, "test-jws", expiresIn={"days": 7})
    assert configuration["audience"] == "anyone"  # the format's own option, defaulted
    metadata = (await api.http.get("/.well-known/openid-credential-issuer")).json()
    entry = metadata["credential_configurations_supported"][configuration["id"]]
    assert entry == {
        "id": configuration["id"],
        "format": "jwt_test",
        "type": "test:membership",
        "scope": "jwt_test:test:membership",
        "cryptographic_binding_methods_supported": ["jwk"],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
    }
    assert metadata["test_format_note"] == "jwt_test at https://issuer.example"
    assert "mdoc_iacas_uri" not in metadata  # only while an mDoc configuration exists
    offer = await api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=headers,
        json={"credentials": [configuration["id"]], "claims": {"name": "Ana", "level": "3"}},
    )
    wallet = Wallet(api.http)
    (token,) = await wallet.claim(offer.json()["uri"])
    payload = _verify(token, root)
    assert payload["claims"] == {"name": "Ana", "level": 3}
    assert payload["cnf"]["jwk"] == wallet.key.as_dict(private=False)
    assert payload["type"] == "test:membership" and payload["exp"] - payload["iat"] == 7 * 86400
    async with api.container.uow_factory() as uow:
        (record,) = (await uow.issued_credentials.list(DEFAULT_TENANT_ID, limit=10, after=None)).items
    assert (record.format, record.profile, record.credential_type) == ("jwt_test", "test-jws", "test:membership")
    assert record.holder_key_thumbprint == wallet.key.thumbprint()
    assert record.details == {"claimNames": ["level", "name"]}


async def test_the_generic_api_applies_the_plugin_schema_and_rules(api: Any) -> None:
    headers = await api.auth()
    path = "/v2/credentials/test-jws/configurations"
    refused = await api.http.post(
        path,
        headers=headers,
        json={"type": "membership", "claimMappings": {}, "audience": 7, "validFrom": {"mapFrom": "claims.from"}},
    )
    assert refused.status_code == 400
    details = {detail["param"]: detail["msg"] for detail in refused.json()["details"]}
    # No validity mapping in this format's schema: refused by name, never silently ignored.
    assert details["validFrom"] == "is not supported by this format"
    good = {"type": "test:a", "claimMappings": {"name": {"mapFrom": "claims.name"}}}
    bad_rules = await api.http.post(path, headers=headers, json={**good, "type": "a", "audience": 7})
    assert bad_rules.status_code == 400
    assert {d["param"] for d in bad_rules.json()["details"]} == {"type", "audience"}
    created = await api.http.post(path, headers=headers, json=good)
    assert created.status_code == 201, created.text
    assert (await api.http.post(path, headers=headers, json=good)).status_code == 409
    # the same id is not reachable through another format's resource
    other = f"/v2/credentials/mobile/configurations/{created.json()['id']}"
    assert (await api.http.get(other, headers=headers)).status_code == 404
    assert (await api.http.delete(other, headers=headers)).status_code == 404
    listed = await api.http.get(path, headers=headers, params={"type": "test:a"})
    assert [c["id"] for c in listed.json()["data"]] == [created.json()["id"]]
    assert "/v2/credentials/test-jws/configurations" in (await api.http.get("/openapi.json")).json()["paths"]


async def test_a_bearer_plugin_format_issues_without_proofs_and_checks_one_that_is_sent(api: Any) -> None:
    headers, configuration, root = await _issuer(api, "test-bearer")
    wallet = Wallet(api.http)

    async def flow(body: dict[str, Any]) -> Any:
        offer = await api.http.post(
            "/v1/openid/offers/pre-authorized",
            headers=headers,
            json={"credentials": [configuration["id"]], "claims": {"name": "Ana"}},
        )
        credential_offer = await wallet.read_offer(offer.json()["uri"])
        metadata, _ = await wallet.discover(credential_offer["credential_issuer"])
        access = (await wallet.token(credential_offer)).json()["access_token"]
        body = {"credential_configuration_id": configuration["id"], **body}
        return metadata, await wallet.credential(metadata, access, body)

    _, response = await flow({})
    assert response.status_code == 200, response.text
    payload = _verify(response.json()["credentials"][0]["credential"], root)
    assert "cnf" not in payload and payload["claims"] == {"name": "Ana"}
    metadata = (await api.http.get("/.well-known/openid-credential-issuer")).json()
    bad_proof = wallet.proof(metadata, "not-a-nonce-from-this-issuer")
    _, refused = await flow({"proofs": {"jwt": [bad_proof]}})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_nonce"
    good_proof = wallet.proof(metadata, await wallet.nonce(metadata))
    _, accepted = await flow({"proofs": {"jwt": [good_proof]}})
    assert accepted.status_code == 200
    assert "cnf" not in _verify(accepted.json()["credentials"][0]["credential"], root)


def test_no_file_under_src_names_the_test_formats() -> None:
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        assert "jwt_test" not in text and "test-jws" not in text and "JwsTestFormat" not in text, path
