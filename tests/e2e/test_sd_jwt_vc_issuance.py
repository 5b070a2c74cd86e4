"""SD-JWT VC issuance over the Pre-authorized Code flow, checked by independent implementations (the reference
``sd-jwt`` package, cryptography for the x5c chain): signature, disclosures (nested, array elements, decoys), key
binding, batch unlinkability, metadata, Type Metadata and the JWT VC Issuer Metadata."""

from __future__ import annotations

import base64
import itertools
import json
import random
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.jwk import ECKey
from jwcrypto.jws import InvalidJWSSignature
from sd_jwt.verifier import SDJWTVerifier

from oi_sd_jwt import (
    ALL_DISCLOSED,
    SD_JWT_CLAIMS,
    SD_JWT_CONFIGURATION,
    b64decode,
    issuer_key_of,
    present,
    verify_presentation,
    verify_sd_jwt_vc,
)
from oi_wallet import Wallet, new_key
from openissuer.domain.api_clients import Role
from openissuer.domain.ids import DEFAULT_TENANT_ID

ISSUER = "https://issuer.example"


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


# Overrides every_backend_url's own parameters: the test runs on memory only.
MEMORY_ONLY = pytest.mark.parametrize("every_backend_url", ["memory"], indirect=True)


class Issuer:
    def __init__(self, api: Any, headers: dict[str, str], iaca_pem: str, configuration: dict[str, Any]) -> None:
        self.api, self.headers, self.iaca_pem, self.configuration = api, headers, iaca_pem, configuration

    async def offer(self, claims: dict[str, Any] | None = None) -> str:
        response = await self.api.http.post(
            "/v1/openid/offers/pre-authorized",
            headers=self.headers,
            json={"credentials": [self.configuration["id"]], "claims": SD_JWT_CLAIMS if claims is None else claims},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["uri"])

    async def request(self, wallet: Wallet, keys: list[ECKey]) -> list[str]:
        """Claim an offer with one proof per key (a batch); return the credentials."""
        offer = await wallet.read_offer(await self.offer())
        metadata, _ = await wallet.discover(offer["credential_issuer"])
        access = (await wallet.token(offer)).json()["access_token"]
        nonce = await wallet.nonce(metadata)
        body = {
            "credential_configuration_id": self.configuration["id"],
            "proofs": {"jwt": [wallet.proof(metadata, nonce, key=key) for key in keys]},
        }
        response = await wallet.credential(metadata, access, body)
        assert response.status_code == 200, response.text
        return [entry["credential"] for entry in response.json()["credentials"]]


async def make_issuer(api: Any, **overrides: Any) -> Issuer:
    headers = await api.auth()
    iaca = (await api.http.post("/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"})).json()
    await api.http.put(f"/v2/credentials/mobile/iacas/{iaca['id']}", headers=headers, json={"active": True})
    body = {**SD_JWT_CONFIGURATION, **overrides}
    created = await api.http.post("/v2/credentials/sd-jwt/configurations", headers=headers, json=body)
    assert created.status_code == 201, created.text
    return Issuer(api, headers, iaca["certificatePem"], created.json())


async def test_an_sd_jwt_vc_verifies_with_the_reference_implementation(api: Any) -> None:
    issuer = await make_issuer(api)
    assert issuer.configuration["decoyDigests"] == 3 and issuer.configuration["vct"] == SD_JWT_CONFIGURATION["vct"]
    wallet = Wallet(api.http)
    (credential,) = await wallet.claim(await issuer.offer())
    verified = verify_sd_jwt_vc(credential, issuer.iaca_pem, issuer=ISSUER, holder=wallet.key)
    claims = verified.claims
    assert {k: v for k, v in claims.items() if k not in {"iss", "iat", "exp", "vct", "cnf"}} == ALL_DISCLOSED
    payload = verified.payload
    assert payload["iss"] == ISSUER and payload["vct"] == SD_JWT_CONFIGURATION["vct"]
    assert payload["_sd_alg"] == "sha-256" and payload["exp"] - payload["iat"] == 30 * 86400
    assert payload["iat"] <= int(api.clock.now().timestamp())  # never after the issuance
    # What is in the clear, what is a digest: member and the nationalities array are shown, their elements and the
    # other claims are digests; address is a disclosure whose value holds locality's digest and country in clear.
    assert payload["member"] is True and "given_name" not in payload and "address" not in payload
    assert [set(element) for element in payload["nationalities"]] == [{"..."}, {"..."}]
    decoded = [json.loads(b64decode(d)) for d in verified.disclosures]
    (address,) = [d for d in decoded if len(d) == 3 and d[1] == "address"]
    assert address[2]["country"] == "NZ" and len(address[2]["_sd"]) >= 1 and "locality" not in address[2]
    assert sorted(d[1] for d in decoded if len(d) == 2) == ["GB", "NZ"]  # array element disclosures
    assert len(verified.disclosures) == 7  # given, family, birthdate, address, locality, two nationalities
    assert payload["_sd"] == sorted(payload["_sd"])
    assert verified.header["kid"]
    async with api.container.uow_factory() as uow:
        (record,) = (await uow.issued_credentials.list(DEFAULT_TENANT_ID, limit=10, after=None)).items
    assert (record.format, record.profile, record.credential_type) == (
        "dc+sd-jwt",
        "sd-jwt",
        SD_JWT_CONFIGURATION["vct"],
    )
    assert record.holder_key_thumbprint == wallet.key.thumbprint()
    assert sorted(record.details["digests"]) == sorted(verified.digests())
    assert "Ana" not in json.dumps(record.details)  # digests, never values


@MEMORY_ONLY
async def test_a_presentation_with_selected_disclosures_and_key_binding(api: Any) -> None:
    issuer = await make_issuer(api)
    wallet = Wallet(api.http)
    (credential,) = await wallet.claim(await issuer.offer())
    verified = verify_sd_jwt_vc(credential, issuer.iaca_pem, issuer=ISSUER, holder=wallet.key)
    chosen = {"given_name": True, "address": {"locality": True}, "nationalities": [False, True]}
    presentation = present(credential, chosen, wallet.key, nonce="n-123", aud="https://verifier.example")
    shown = verify_presentation(presentation, verified.leaf, nonce="n-123", aud="https://verifier.example")
    assert shown["given_name"] == "Ana" and "family_name" not in shown and "birthdate" not in shown
    assert shown["address"] == {"locality": "Wellington", "country": "NZ"}
    assert shown["nationalities"] == ["GB"] and shown["member"] is True
    # The key-binding JWT is the holder's: a presentation signed with another key does not verify.
    stolen = present(credential, chosen, new_key(), nonce="n-123", aud="https://verifier.example")
    with pytest.raises(InvalidJWSSignature):
        verify_presentation(stolen, verified.leaf, nonce="n-123", aud="https://verifier.example")
    with pytest.raises(ValueError, match="nonce"):
        verify_presentation(presentation, verified.leaf, nonce="other", aud="https://verifier.example")
    # A tampered disclosure: its digest is in no _sd array, and the KB-JWT's sd_hash no longer matches.
    issuer_signed, *disclosures, kb = presentation.split("~")
    (index,) = [i for i, d in enumerate(disclosures) if json.loads(b64decode(d))[1:2] == ["given_name"]]
    salt, name, _ = json.loads(b64decode(disclosures[index]))
    forged = base64.urlsafe_b64encode(json.dumps([salt, name, "Mallory"]).encode()).rstrip(b"=").decode()
    disclosures[index] = forged
    tampered = "~".join([issuer_signed, *disclosures, kb])
    with pytest.raises(ValueError, match="digest"):
        verify_presentation(tampered, verified.leaf, nonce="n-123", aud="https://verifier.example")
    # Without a key binding to break, a forged disclosure is still no part of the credential: the check every
    # verifier must make (RFC 9901 §7.1: each disclosure's digest is in the payload) fails for it, and the
    # reference verifier never lets its value through.
    forged_credential = "~".join([issuer_signed, *disclosures, ""])
    with pytest.raises(AssertionError, match="a disclosure whose digest is in no _sd array"):
        verify_sd_jwt_vc(forged_credential, issuer.iaca_pem, issuer=ISSUER, holder=wallet.key)
    reference = SDJWTVerifier(forged_credential, lambda iss, h: issuer_key_of(verified.leaf))
    assert "given_name" not in reference.get_verified_payload()
    # A tampered issuer-signed JWT does not verify at all.
    header, payload, signature = issuer_signed.split(".")
    claims = json.loads(b64decode(payload))
    claims["vct"] = "https://evil.example/vct"
    other = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidJWSSignature):
        SDJWTVerifier(f"{header}.{other}.{signature}~", lambda iss, h: issuer_key_of(verified.leaf))


@MEMORY_ONLY
async def test_the_credentials_of_a_batch_share_no_salt_digest_signature_or_time(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A seeded CSPRNG stand-in, so that the iat draws (a random second in a day) are the same on every run.
    monkeypatch.setattr(api.container.issuance, "_random_bytes", random.Random(12).randbytes)
    issuer = await make_issuer(api)
    wallet = Wallet(api.http)
    keys = [new_key() for _ in range(4)]
    credentials = await issuer.request(wallet, keys)
    assert len(credentials) == 4
    verified = [
        verify_sd_jwt_vc(c, issuer.iaca_pem, issuer=ISSUER, holder=k) for c, k in zip(credentials, keys, strict=True)
    ]
    for first, second in itertools.combinations(verified, 2):
        assert first.salts().isdisjoint(second.salts())
        assert first.digests().isdisjoint(second.digests())
        assert set(first.payload["_sd"]).isdisjoint(second.payload["_sd"])  # decoys too
        assert first.signature != second.signature
        assert first.payload["iat"] != second.payload["iat"]  # the policy: a random second in the last 24 hours
        assert first.payload["exp"] != second.payload["exp"]
        assert first.claims["given_name"] == second.claims["given_name"] == "Ana"
    now = int(api.clock.now().timestamp())
    assert all(now - 86400 <= v.payload["iat"] <= now for v in verified)
    assert len({v.leaf.serial_number for v in verified}) == 1  # one issuer certificate signs them all


@MEMORY_ONLY
async def test_metadata_type_metadata_and_the_issuers_keys(api: Any) -> None:
    issuer = await make_issuer(api)
    configuration_id = issuer.configuration["id"]
    metadata = (await api.http.get("/.well-known/openid-credential-issuer")).json()
    entry = metadata["credential_configurations_supported"][configuration_id]
    assert entry["format"] == "dc+sd-jwt" and entry["vct"] == SD_JWT_CONFIGURATION["vct"]
    assert entry["scope"] == "dc+sd-jwt:" + SD_JWT_CONFIGURATION["vct"]
    assert entry["cryptographic_binding_methods_supported"] == ["jwk"]
    assert entry["credential_signing_alg_values_supported"] == ["ES256"]
    assert entry["proof_types_supported"] == {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}
    assert entry["credential_metadata"]["display"] == [{"name": "Identity", "background_color": "#112233"}]
    claims = {tuple(c["path"]): c for c in entry["credential_metadata"]["claims"]}
    assert claims[("given_name",)] == {
        "path": ["given_name"],
        "mandatory": True,
        "display": [{"name": "Given name", "locale": "en"}, {"name": "Tapa ingoa", "locale": "mi"}],
    }
    assert ("address", "locality") in claims and ("nationalities", None) in claims
    assert "mdoc_iacas_uri" not in metadata
    # Type Metadata at the vct URL (it is under the tenant's public URL at /vct/…).
    type_metadata = await api.http.get("/vct/identity")
    assert type_metadata.status_code == 200 and type_metadata.headers["cache-control"] == "public, max-age=60"
    document = type_metadata.json()
    assert document["vct"] == SD_JWT_CONFIGURATION["vct"] and document["name"] == "Identity"
    sd = {tuple(c["path"]): c["sd"] for c in document["claims"]}
    assert sd[("given_name",)] == "always" and sd[("address", "country")] == "never"
    assert sd[("nationalities",)] == "never" and sd[("nationalities", None)] == "always"
    assert document["claims"][0]["display"] == [
        {"locale": "en", "label": "Given name"},
        {"locale": "mi", "label": "Tapa ingoa"},
    ]
    assert (await api.http.get("/vct/unknown")).status_code == 404
    # The issuer's keys: none before the first credential, then the key whose kid the credential carries.
    jwt_vc_issuer = (await api.http.get("/.well-known/jwt-vc-issuer")).json()
    assert jwt_vc_issuer == {"issuer": ISSUER, "jwks": {"keys": []}}
    wallet = Wallet(api.http)
    (credential,) = await wallet.claim(await issuer.offer())
    verified = verify_sd_jwt_vc(credential, issuer.iaca_pem, issuer=ISSUER, holder=wallet.key)
    jwt_vc_issuer = (await api.http.get("/.well-known/jwt-vc-issuer")).json()
    assert jwt_vc_issuer["issuer"] == verified.payload["iss"]
    (key,) = jwt_vc_issuer["jwks"]["keys"]
    assert key["kid"] == verified.header["kid"] and key["alg"] == "ES256" and key["use"] == "sig"
    # The JWT VC Issuer Metadata alone verifies the issuer-signed JWT (joserfc, no x5c).
    public = ECKey.import_key({k: key[k] for k in ("kty", "crv", "x", "y")})
    registry = jws.JWSRegistry(algorithms=["ES256"])
    registry.max_header_length = 4096
    jws.deserialize_compact(credential.split("~")[0], public, registry=registry)
    leaf_key = verified.leaf.public_key()
    assert isinstance(leaf_key, ec.EllipticCurvePublicKey)
    assert ECKey.import_key(leaf_key).thumbprint() == key["kid"]
    assert (await api.http.get("/.well-known/jwt-vc-issuer/other")).status_code == 404


@MEMORY_ONLY
async def test_configuration_rules(api: Any) -> None:
    headers = await api.auth()
    path = "/v2/credentials/sd-jwt/configurations"

    async def problems(**changes: Any) -> dict[str, str]:
        response = await api.http.post(path, headers=headers, json={**SD_JWT_CONFIGURATION, **changes})
        assert response.status_code == 400, response.text
        return {d["param"]: d["msg"] for d in response.json()["details"]}

    assert "vct" in await problems(vct="identity credential")
    assert "vct" in await problems(vct="no-scheme")
    mapped = {"mapFrom": "claims.x"}
    assert "claimMappings.iss" in await problems(claimMappings={"iss": mapped})
    assert "claimMappings.cnf.jwk" in await problems(claimMappings={"cnf.jwk": mapped, "a": mapped})
    assert "claimMappings.a._sd" in await problems(claimMappings={"a._sd": mapped})
    assert "claimMappings" in await problems(claimMappings={"a": {"selectivelyDisclosable": True}})
    assert "expiresIn" in await problems(expiresIn={"days": 456})
    assert "decoyDigests" in await problems(decoyDigests=21)
    assert "decoyDigests" in await problems(decoyDigests=True)
    assert "claimMappings.a.b" in await problems(claimMappings={"a": mapped, "a.b": mapped})
    created = await api.http.post(path, headers=headers, json={**SD_JWT_CONFIGURATION, "decoyDigests": None})
    assert created.status_code == 201, created.text
    assert created.json()["decoyDigests"] == 0
    assert (await api.http.post(path, headers=headers, json=SD_JWT_CONFIGURATION)).status_code == 409
    listed = await api.http.get(path, headers=headers, params={"vct": SD_JWT_CONFIGURATION["vct"]})
    assert [c["id"] for c in listed.json()["data"]] == [created.json()["id"]]


@MEMORY_ONLY
async def test_no_sd_jwt_vc_without_an_active_iaca_and_none_without_a_proof(api: Any) -> None:
    headers = await api.auth()
    created = await api.http.post("/v2/credentials/sd-jwt/configurations", headers=headers, json=SD_JWT_CONFIGURATION)
    issuer = Issuer(api, headers, "", created.json())
    wallet = Wallet(api.http)
    offer = await wallet.read_offer(await issuer.offer())
    metadata, _ = await wallet.discover(offer["credential_issuer"])
    access = (await wallet.token(offer)).json()["access_token"]
    no_proof = await wallet.credential(metadata, access, {"credential_configuration_id": created.json()["id"]})
    assert no_proof.status_code == 400 and no_proof.json()["error"] == "invalid_proof"
    body = {
        "credential_configuration_id": created.json()["id"],
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]},
    }
    refused = await wallet.credential(metadata, access, body)
    assert refused.status_code == 400 and refused.json()["error"] == "credential_request_denied"


@MEMORY_ONLY
async def test_each_tenant_signs_as_itself_and_publishes_its_own_keys_and_types(api: Any) -> None:
    created = await api.container.api_clients.create_client(
        DEFAULT_TENANT_ID, name="platform", roles=(Role.PLATFORM_ADMIN,)
    )
    platform = await api.auth(created.client.client_id, created.client_secret)
    default = await make_issuer(api)

    async def tenant(url: str) -> dict[str, str]:
        response = await api.http.post("/v1/tenants", headers=platform, json={"name": url, "publicUrl": url})
        assert response.status_code == 201, response.text
        client = response.json()["adminClient"]
        return dict(await api.auth(client["clientId"], client["clientSecret"]))

    alpha_headers = await tenant("https://alpha.example")
    iaca = (await api.http.post("/v2/credentials/mobile/iacas", headers=alpha_headers, json={"country": "AU"})).json()
    await api.http.put(f"/v2/credentials/mobile/iacas/{iaca['id']}", headers=alpha_headers, json={"active": True})
    vct = "https://alpha.example/vct/identity"
    configuration = await api.http.post(
        "/v2/credentials/sd-jwt/configurations", headers=alpha_headers, json={**SD_JWT_CONFIGURATION, "vct": vct}
    )
    assert configuration.status_code == 201, configuration.text
    alpha = Issuer(api, alpha_headers, iaca["certificatePem"], configuration.json())
    wallet = Wallet(api.http)
    (credential,) = await wallet.claim(await alpha.offer())
    verified = verify_sd_jwt_vc(credential, alpha.iaca_pem, issuer="https://alpha.example", holder=wallet.key)
    with pytest.raises(ValueError):  # not under the default tenant's IACA
        verified.leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(default.iaca_pem.encode()))
    alpha_keys = (await api.http.get("https://alpha.example/.well-known/jwt-vc-issuer")).json()
    assert alpha_keys["issuer"] == "https://alpha.example"
    assert [k["kid"] for k in alpha_keys["jwks"]["keys"]] == [verified.header["kid"]]
    assert (await api.http.get("/.well-known/jwt-vc-issuer")).json()["jwks"]["keys"] == []  # the default tenant's
    assert (await api.http.get("https://alpha.example/vct/identity")).json()["vct"] == vct
    assert (await api.http.get("/vct/identity")).json()["vct"] == SD_JWT_CONFIGURATION["vct"]
    assert (await api.http.get("https://alpha.example/vct/other")).status_code == 404
    # An issuer identifier with a path: the document is at the path-inserted well-known URL, and nowhere else.
    await tenant("https://beta.example/tenant-b")
    beta = await api.http.get("https://beta.example/.well-known/jwt-vc-issuer/tenant-b")
    assert beta.status_code == 200 and beta.json()["issuer"] == "https://beta.example/tenant-b"
    assert (await api.http.get("https://beta.example/.well-known/jwt-vc-issuer")).status_code == 404
