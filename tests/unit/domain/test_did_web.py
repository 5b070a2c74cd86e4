"""did:web identifiers of public URLs and where their documents are read (W3C did:web §3.1, §3.2)."""

from __future__ import annotations

import pytest

from openissuer.domain.dids import create_did_document_url, create_did_web, find_assertion_key


@pytest.mark.parametrize(
    ("url", "did", "document"),
    [
        ("https://issuer.example", "did:web:issuer.example", "https://issuer.example/.well-known/did.json"),
        ("https://Issuer.Example:443/", "did:web:issuer.example", "https://issuer.example/.well-known/did.json"),
        ("http://127.0.0.1:8000", "did:web:127.0.0.1%3A8000", "https://127.0.0.1:8000/.well-known/did.json"),
        ("https://w.example/a/b", "did:web:w.example:a:b", "https://w.example/a/b/did.json"),
        ("https://w.example:8443/a%20b/", "did:web:w.example%3A8443:a%20b", "https://w.example:8443/a%20b/did.json"),
    ],
)
def test_public_urls_and_their_dids(url: str, did: str, document: str) -> None:
    assert create_did_web(url) == did
    assert create_did_document_url(did) == document


@pytest.mark.parametrize("did", ["did:key:z6Mk", "did:web:", "did:web:a.example#k", "did:web:a.example::b", "x"])
def test_only_did_web_dids_have_a_document_url(did: str) -> None:
    with pytest.raises(ValueError, match="did:web"):
        create_did_document_url(did)


def test_an_assertion_key_must_be_the_documents_and_listed_as_an_assertion_method() -> None:
    did = "did:web:a.example"
    jwk = {"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}
    method = {"id": f"{did}#k1", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk}
    document = {"id": did, "verificationMethod": [method], "assertionMethod": [f"{did}#k1"]}
    assert find_assertion_key(document, did, "k1") == jwk
    assert find_assertion_key(document, did, "k2") is None
    assert find_assertion_key({**document, "id": "did:web:b.example"}, did, "k1") is None
    assert find_assertion_key({**document, "assertionMethod": []}, did, "k1") is None
    embedded = {"id": did, "assertionMethod": [{**method, "id": "#k1"}]}
    assert find_assertion_key(embedded, did, "k1") == jwk
    assert find_assertion_key(["not", "a", "document"], did, "k1") is None
