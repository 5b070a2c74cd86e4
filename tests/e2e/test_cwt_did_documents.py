"""The tenant's did:web DID document: its form for a host and for a public URL with a path, per tenant by host, and
key rotation that keeps every key published while a credential it signed may still be valid."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest

from oi_cwt import compact_bytes

SIGN = "/v2/credentials/compact/sign"
DAY = 86400


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"did_key_validity_days": 100, "did_key_rotation_days": 90}


def _kid(encoded: str) -> str:
    return str(cbor2.loads(cbor2.loads(compact_bytes(encoded)).value[0])[4].decode())


async def _sign(api: Any, **payload: Any) -> str:
    response = await api.http.post(SIGN, headers=await api.auth(), json={"payload": {"name": "Ana", **payload}})
    assert response.status_code == 200, response.text
    return str(response.json()["encoded"])


async def _document(api: Any, url: str = "/.well-known/did.json") -> dict[str, Any]:
    response = await api.http.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "application/did+json"
    return dict(response.json())


async def test_a_tenant_without_credentials_has_a_document_without_keys(api: Any) -> None:
    document = await _document(api)
    assert document["id"] == "did:web:issuer.example"
    assert document["verificationMethod"] == [] and document["assertionMethod"] == []


async def test_each_tenant_has_its_own_did_and_a_path_gives_the_path_based_form(api: Any) -> None:
    created = await api.container.tenant_admin.create("Transport", "https://transport.example:8443/nz/tenant")
    headers = await api.auth(created.admin_client.client_id, created.admin_client_secret)
    signed = await api.http.post(SIGN, headers=headers, json={"payload": {"name": "Ana"}})
    assert signed.json()["decoded"]["iss"] == "did:web:transport.example%3A8443:nz:tenant"
    for path in ("/did.json", "/.well-known/did.json"):  # a proxy forwards /nz/tenant/did.json as /did.json
        document = await _document(api, "https://transport.example:8443" + path)
        assert document["id"] == "did:web:transport.example%3A8443:nz:tenant"
        (method,) = document["verificationMethod"]
        assert method["id"] == f"{document['id']}#{_kid(signed.json()['encoded'])}"
        assert method["type"] == "JsonWebKey2020" and set(method["publicKeyJwk"]) == {"kty", "crv", "x", "y"}
        assert document["assertionMethod"] == [method["id"]]
    assert (await _document(api))["verificationMethod"] == []  # the default tenant has no key yet


async def test_rotation_keeps_old_keys_published_until_what_they_signed_has_expired(api: Any) -> None:
    now = int(api.clock.now().timestamp())
    first = await _sign(api, exp=now + 30 * DAY)
    assert _kid(await _sign(api, exp=now + 60 * DAY)) == _kid(first)  # the same key while young enough
    api.clock.advance(seconds=1)
    far = await _sign(api, exp=now + 300 * DAY)  # beyond the key's 100 days: a key that covers it
    assert _kid(far) != _kid(first)
    api.clock.advance(days=91)  # both keys are past the rotation age: a third key signs
    third = await _sign(api, exp=int(api.clock.now().timestamp()) + 10 * DAY)
    kids = [m["id"].split("#")[1] for m in (await _document(api))["verificationMethod"]]
    assert kids == [_kid(third), _kid(far), _kid(first)]  # newest first, all still published
    verified = await api.http.post("/v2/credentials/compact/verify", headers=await api.auth(), json={"payload": far})
    assert verified.json()["verified"] is True
    # The first key may sign credentials valid up to 120 days (100 days, or what it first signed + the rotation age
    # of headroom): after that nothing it signed can still be valid, and it leaves the document.
    api.clock.advance(days=30)
    kids = [m["id"].split("#")[1] for m in (await _document(api))["verificationMethod"]]
    assert kids == [_kid(third), _kid(far)]
    no_expiry = await _sign(api)  # no exp: valid for good, so its key stays published for good
    api.clock.advance(days=3000)
    kids = [m["id"].split("#")[1] for m in (await _document(api))["verificationMethod"]]
    assert kids == [_kid(no_expiry)]
