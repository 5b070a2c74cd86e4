"""An integration written for the reference platform, run against openissuer unchanged.

Every request body is copied from the examples of the reference specification (../shared/reference/mattr-vii.md,
sections named in each test) and every response is checked field by field against the documented shape. The
client authenticates at ``POST /oauth/token`` as the reference's docs show, and reaches some paths through the
``/core`` prefix, as the reference's older material does. Deliberate differences: docs/compatibility.md.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import cbor2
import pytest
from cryptography import x509
from pymdoccbor.mdoc.verifier import MobileDocument

from oi_wallet import PRE_AUTHORIZED_GRANT, Wallet

ISSUER = "https://issuer.example"
MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ERROR_DETAIL_KEYS = {"location", "param", "msg", "value"}


async def reference_token(api: Any) -> dict[str, str]:
    """§1.2: ``POST https://{auth_url}/oauth/token`` with JSON ``{client_id, client_secret, audience, grant_type}``."""
    response = await api.http.post(
        "/oauth/token",
        json={
            "client_id": "test-admin",
            "client_secret": "test-admin-secret-0123456789",
            "audience": "https://learn.vii.au01.mattr.global",
            "grant_type": "client_credentials",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], int)
    return {"Authorization": f"Bearer {body['access_token']}"}


def assert_error(response: Any, status: int, code: str, param: str | None = None) -> dict[str, Any]:
    """§1.3: ``{code, message, details:[{value, msg, param, location}]}``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"code", "message", "details"} and body["code"] == code
    assert all(set(detail) == ERROR_DETAIL_KEYS for detail in body["details"])
    if param is not None:
        assert param in [detail["param"] for detail in body["details"]], body
    return dict(body)


async def test_the_pre_authorized_journey_as_the_reference_documents_it(api: Any) -> None:
    headers = await reference_token(api)
    http = api.http

    # §8.2 IACA: create (inactive), then activate with PUT {active: true}. Dates as the reference's examples.
    iaca = await http.post(
        "/v2/credentials/mobile/iacas",
        headers=headers,
        json={
            "commonName": "example.com IACA",
            "country": "US",
            "stateOrProvinceName": "US-AL",
            "notAfter": "2034-09-26",
        },
    )
    assert iaca.status_code == 201, iaca.text
    created_iaca = iaca.json()
    assert set(created_iaca) == {
        "id",
        "active",
        "isManaged",
        "certificatePem",
        "certificateFingerprint",
        "certificateData",
    }
    assert created_iaca["active"] is False and created_iaca["isManaged"] is True
    assert set(created_iaca["certificateData"]) == {
        "notBefore",
        "notAfter",
        "country",
        "commonName",
        "stateOrProvinceName",
    }
    assert created_iaca["certificateData"]["stateOrProvinceName"] == "US-AL"
    assert re.fullmatch(r"[0-9a-f]{64}", created_iaca["certificateFingerprint"])
    activated = await http.put(
        f"/v2/credentials/mobile/iacas/{created_iaca['id']}", headers=headers, json={"active": True}
    )
    assert activated.status_code == 200 and activated.json()["active"] is True

    # §4.2 / §4.3 mDoc configuration, the claim mappings of the reference's example.
    configuration_body = {
        "type": MDL,
        "claimMappings": {
            NS: {
                "given_name": {"mapFrom": "claims.given_name", "required": True, "type": "string"},
                "birth_date": {"mapFrom": "claims.date_of_birth", "required": True, "type": "dateTime"},
            }
        },
        "expiresIn": {"days": 365},
        "branding": {"name": "Driver licence", "backgroundColor": "#860012"},
        "includeStatus": False,
    }
    created = await http.post("/v2/credentials/mobile/configurations", headers=headers, json=configuration_body)
    assert created.status_code == 201, created.text
    configuration = created.json()
    assert UUID.match(configuration["id"])
    assert {k: v for k, v in configuration.items() if k != "id"} == configuration_body  # "request fields + id"

    # §2.2 pre-authorized offer: the reference's request body and response shape.
    offer = await http.post(
        "/v1/openid/offers/pre-authorized",
        headers=headers,
        json={
            "credentials": [configuration["id"]],
            "transactionCodeConfiguration": {
                "inputMode": "numeric",
                "description": "Please enter the one-time code that was sent to you via email.",
            },
            "claims": {"given_name": "John", "date_of_birth": "1990-01-02T00:00:00Z", "email": "john.doe@example.com"},
            "claimsToPersist": ["email"],
            "expiresIn": {"minutes": 5},
        },
    )
    assert offer.status_code == 200, offer.text
    created_offer = offer.json()
    assert set(created_offer) == {"id", "userId", "uri", "expiresAt", "transactionCode"}
    assert re.fullmatch(r"[0-9]{6}", created_offer["transactionCode"])
    assert created_offer["uri"].startswith("openid-credential-offer://?credential_offer=")
    decoded = json.loads(unquote(created_offer["uri"].split("credential_offer=", 1)[1]))
    assert decoded["credential_issuer"] == ISSUER
    assert decoded["credentials"] == decoded["credential_configuration_ids"] == [configuration["id"]]
    grant = decoded["grants"][PRE_AUTHORIZED_GRANT]
    assert grant["tx_code"] == {
        "length": 6,
        "input_mode": "numeric",
        "description": "Please enter the one-time code that was sent to you via email.",
    }
    user = await http.get(f"/v1/users/{created_offer['userId']}", headers=headers)
    assert user.json()["claims"] == {"email": "john.doe@example.com"}  # claimsToPersist

    # §2.5 the wallet: discovery, the IACA list at mdoc_iacas_uri, token, nonce, the SDK's credential request.
    wallet = Wallet(http)
    metadata = (await http.get("/.well-known/openid-credential-issuer")).json()
    as_metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    for member in ("issuer", "credential_issuer", "token_endpoint", "credential_endpoint", "mdoc_iacas_uri"):
        assert member in metadata, member
    assert metadata["mdoc_iacas_uri"] == f"{ISSUER}/core/v1/openid/iacas"
    entry = metadata["credential_configurations_supported"][configuration["id"]]
    assert entry["id"] == configuration["id"] and entry["format"] == "mso_mdoc" and entry["doctype"] == MDL
    assert entry["scope"] == f"mso_mdoc:{MDL}"
    assert (
        entry["display"]
        == entry["credential_metadata"]["display"]
        == [{"name": "Driver licence", "background_color": "#860012"}]
    )
    legacy = {e["id"]: e for e in metadata["credentials_supported"]}[configuration["id"]]
    assert legacy["format"] == "mso_mdoc" and legacy["doctype"] == MDL
    assert legacy["claims"] == {NS: {"given_name": {"mandatory": True}, "birth_date": {"mandatory": True}}}
    assert as_metadata["pre-authorized_grant_anonymous_access_supported"] is True
    assert "none" in as_metadata["token_endpoint_auth_methods_supported"]
    iacas = (await http.get(metadata["mdoc_iacas_uri"].removeprefix(ISSUER))).json()["data"]
    assert [i["id"] for i in iacas] == [created_iaca["id"]]
    token = await http.post(
        metadata["token_endpoint"],
        data={
            "grant_type": PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": grant["pre-authorized_code"],
            "tx_code": created_offer["transactionCode"],
            "client_id": "myAppClientId",  # §2.5 step 5: the SDK passes an app-chosen client id
        },
    )
    assert token.status_code == 200, token.text
    assert set(token.json()) >= {"access_token", "token_type", "expires_in"} and token.json()["token_type"] == "Bearer"
    nonce = await wallet.nonce(metadata)
    credential = await http.post(
        metadata["credential_endpoint"],
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        json={
            "format": "mso_mdoc",
            "doctype": MDL,
            "proof": {"proof_type": "jwt", "jwt": wallet.proof(metadata, nonce)},
        },
    )
    assert credential.status_code == 200, credential.text
    assert set(credential.json()) == {"format", "credential"} and credential.json()["format"] == "mso_mdoc"
    raw = credential.json()["credential"]
    issuer_signed = cbor2.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    document = MobileDocument(docType=MDL, issuerSigned=issuer_signed)
    document.verify(trusted_root_certs=[x509.load_pem_x509_certificate(iacas[0]["certificatePem"].encode())])
    assert document.is_valid

    # §2.4 deleting offers: 204, 400 for a malformed id, 404 for an unknown one.
    path = "/v1/openid/offers/pre-authorized"
    claims = {"given_name": "Ana", "date_of_birth": "1990-01-02T00:00:00Z"}
    second = (
        await http.post(path, headers=headers, json={"credentials": [configuration["id"]], "claims": claims})
    ).json()
    assert (await http.delete(f"{path}/{second['id']}", headers=headers)).status_code == 204
    assert_error(await http.delete(f"{path}/not-an-id", headers=headers), 400, "BadRequest", "id")
    assert_error(await http.delete(f"{path}/{created_iaca['id']}", headers=headers), 404, "NotFound", "id")


async def test_issuance_configuration_resources_as_the_reference_documents_them(api: Any) -> None:
    headers = await reference_token(api)
    http = api.http

    # §6.1 claims source, at the legacy path too; §1.3 the not-found body names claimSourceId.
    source = await http.post(
        "/v1/claim-sources",
        headers=headers,
        json={
            "name": "CRM",
            "url": "https://claims.example.com/claims",
            "requestMethod": "GET",
            "requestParameters": {"email": {"mapFrom": "claims.email"}},
            "authorization": {"type": "api-key", "value": "an-api-key-of-the-issuer"},
        },
    )
    assert source.status_code == 201, source.text
    assert "an-api-key-of-the-issuer" not in source.text  # §1.3 secrets are write-only
    assert [s["id"] for s in (await http.get("/v1/claimsources", headers=headers)).json()["data"]] == [
        source.json()["id"]
    ]
    missing = await http.get("/v1/claim-sources/00000000-0000-4000-8000-00000000beef", headers=headers)
    body = assert_error(missing, 404, "NotFound", "claimSourceId")
    assert body["details"][0]["location"] == "params"

    # §5.1 the authentication provider, with the older claimsToSync; listed with limit and cursor.
    provider = await http.post(
        "/v1/users/authentication-providers",
        headers=headers,
        json={
            "url": "https://account.example.com",
            "scope": ["openid", "profile", "email"],
            "clientId": "vJ0SCKchr4XjC0xHNE8DkH6Pmlg2lkCN",
            "clientSecret": "a-client-secret-of-the-idp",
            "tokenEndpointAuthMethod": "client_secret_post",
            "staticRequestParameters": {"prompt": "login", "max_age": 10000},
            "forwardedRequestParameters": ["login_hint"],
            "claimsToSync": ["email"],
        },
    )
    assert provider.status_code == 201, provider.text
    created = provider.json()
    assert created["claimsToPersist"] == ["email"]
    assert created["redirectUrl"] == f"{ISSUER}/v1/oauth/authentication/callback"
    assert created["clientSecret"].startswith("****") and "a-client-secret" not in provider.text
    page = (await http.get("/v1/users/authentication-providers", headers=headers, params={"limit": 2})).json()
    assert [p["id"] for p in page["data"]] == [created["id"]] and "nextCursor" not in page

    # §7.1 the interaction hook: the response carries the generated secret (base64 of 32 bytes).
    hook = await http.put(
        "/v1/openid/configuration",
        headers=headers,
        json={
            "interactionHook": {
                "url": "https://hook.example.com/interaction-hook",
                "claims": ["given_name", "email"],
                "sessionTimeoutInSec": 600,
                "disabled": False,
            }
        },
    )
    assert hook.status_code == 200, hook.text
    assert len(base64.b64decode(hook.json()["interactionHook"]["secret"])) == 32

    # §5.2 users and search.
    user = await http.post("/v1/users", headers=headers, json={"claims": {"email": "john.doe@example.com"}})
    assert user.status_code == 201
    found = await http.post(
        "/v1/users/search", headers=headers, json={"claims": {"email": "john.doe@example.com"}, "limit": 10}
    )
    assert [u["id"] for u in found.json()["data"]] == [user.json()["id"]]

    # §3.1 the Authorization Code offer: {uri} with credentials, credential_configuration_ids, request_parameters.
    configuration = await http.post(
        "/v2/credentials/mobile/configurations",
        headers=headers,
        json={
            "type": "com.example.employeecredential.1",
            "expiresIn": {"months": 1},
            "claimMappings": {
                "com.example.personaldetails.1": {
                    "first_name": {"mapFrom": "claims.given_name", "type": "string", "required": True},
                    "date_of_birth": {
                        "mapFrom": "claims.birthDate",
                        "type": "string",
                        "required": True,
                        "defaultValue": "Unknown",
                    },
                }
            },
            "branding": {
                "name": "Course credential",
                "description": "Diploma in Management",
                "backgroundColor": "#860012",
            },
            "claimSourceId": source.json()["id"],
            "includeStatus": False,
        },
    )
    assert configuration.status_code == 201, configuration.text
    offer = await http.post(
        "/v1/openid/offers",
        headers=headers,
        json={
            "credentials": [configuration.json()["id"]],
            "request_parameters": {"login_hint": "user@example.com", "prompt": "login"},
        },
    )
    assert offer.status_code == 200 and set(offer.json()) == {"uri"}
    decoded = json.loads(parse_qs(urlsplit(offer.json()["uri"]).query)["credential_offer"][0])
    assert decoded["credentials"] == decoded["credential_configuration_ids"] == [configuration.json()["id"]]
    assert decoded["request_parameters"] == {"login_hint": "user@example.com", "prompt": "login"}


async def test_the_core_prefix_and_the_token_alias(api: Any) -> None:
    """§1.1 "Treat /core as an alias": management, public and wallet paths answer under it alike."""
    headers = await reference_token(api)
    http = api.http
    assert (await http.get("/core/v1/openid/iacas")).json() == (await http.get("/v1/openid/iacas")).json()
    listed = await http.get("/core/v2/credentials/mobile/configurations", headers=headers)
    assert listed.status_code == 200 and listed.json() == {"data": []}
    nonce = await http.post("/core/v1/openid/nonce")
    assert nonce.status_code == 200 and "c_nonce" in nonce.json()
    metadata = await http.get("/core/.well-known/openid-credential-issuer")
    assert metadata.status_code == 200 and metadata.json()["credential_issuer"] == ISSUER
    form = await http.post(
        "/core/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "test-admin",
            "client_secret": "test-admin-secret-0123456789",
        },
    )
    assert form.status_code == 200
    wrong = await http.post(
        "/oauth/token", json={"client_id": "test-admin", "client_secret": "wrong-secret-0123456789"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert (await http.get("/oauth/token")).status_code == 404  # only POST is the alias
    assert (await http.get("/core")).status_code == 404
    assert (await http.get("/corex/v1/openid/iacas")).status_code == 404


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v2/credentials/mobile/iacas/{}", "iacaId"),
        ("/v2/credentials/mobile/configurations/{}", "id"),
        ("/v2/credentials/mobile/document-signers/{}", "documentSignerId"),
        ("/v2/credentials/mobile/status-list-signers/{}", "statusListSignerId"),
        ("/v1/claim-sources/{}", "claimSourceId"),
        ("/v1/claimsources/{}", "claimSourceId"),
        ("/v1/users/{}", "id"),
        ("/v1/users/{}/credentials", "userId"),
        ("/v1/users/authentication-providers/{}", "id"),
        ("/v1/openid/clients/{}", "id"),
        ("/v1/api-clients/{}", "id"),
    ],
)
async def test_malformed_and_unknown_path_ids(api: Any, path: str, param: str) -> None:
    """§2.4: "400 (malformed id), 404 (unknown)", each naming the path parameter; unauthenticated is 401 first."""
    assert (await api.http.get(path.format("x"))).status_code == 401
    headers = await reference_token(api)
    malformed = assert_error(await api.http.get(path.format("nope"), headers=headers), 400, "BadRequest", param)
    assert malformed["details"] == [{"location": "params", "param": param, "msg": "must be a UUID", "value": "nope"}]
    unknown = "00000000-0000-4000-8000-00000000beef"
    assert_error(await api.http.get(path.format(unknown), headers=headers), 404, "NotFound", param)


async def test_error_details_point_at_the_body_and_mask_secrets_by_name(api: Any) -> None:
    headers = await reference_token(api)
    broken = await api.http.post(
        "/v1/users", headers={**headers, "Content-Type": "application/json"}, content=b'{"claims": {'
    )
    body = assert_error(broken, 400, "BadRequest")
    assert [(d["location"], d["param"]) for d in body["details"]] == [("body", "")]
    assert body["details"][0]["msg"].startswith("is not valid JSON")
    provider = await api.http.post(
        "/v1/users/authentication-providers",
        headers=headers,
        json={
            "url": "https://account.example.com",
            "clientId": "c",
            "clientSecret": 1234567,
            "tokenEndpointAuthMethod": "bogus",
        },
    )
    details = {d["param"]: d["value"] for d in assert_error(provider, 400, "BadRequest")["details"]}
    assert details["tokenEndpointAuthMethod"] == "bogus"  # not a secret, though its name contains "Token"
    assert details["clientSecret"] == "[redacted]"


async def test_unknown_members_are_ignored_as_the_reference_does(api: Any) -> None:
    headers = await reference_token(api)
    user = await api.http.post("/v1/users", headers=headers, json={"claims": {"a": 1}, "pdfTemplateId": "x"})
    assert user.status_code == 201 and "pdfTemplateId" not in user.json()
    hook = await api.http.put(
        "/v1/openid/configuration",
        headers=headers,
        json={"interactionHook": {"url": "https://hook.example.com/step", "secret": "bXkgb3duIHNlY3JldA=="}},
    )
    assert hook.status_code == 200
    assert hook.json()["interactionHook"]["secret"] != "bXkgb3duIHNlY3JldA=="  # never taken from the request
    duration = await api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=headers,
        json={"credentials": [], "expiresIn": {"fortnights": 1}},
    )
    assert_error(duration, 400, "BadRequest", "expiresIn.fortnights")  # a unit is never ignored


async def test_the_managed_issuer_role(api: Any) -> None:
    """§1.2: managed-issuer works on the newer endpoints (offers, claims sources, the hook), not on the PKI."""
    headers = await reference_token(api)
    created = await api.http.post("/v1/api-clients", headers=headers, json={"name": "ops", "roles": ["managed-issuer"]})
    assert created.status_code == 201, created.text
    managed = await api.auth(created.json()["clientId"], created.json()["clientSecret"])
    source = {
        "name": "CRM",
        "url": "https://claims.example.com/claims",
        "requestParameters": {},
        "authorization": {"type": "api-key", "value": "k" * 16},
    }
    assert (await api.http.post("/v1/claim-sources", headers=managed, json=source)).status_code == 201
    assert (await api.http.post("/v1/users", headers=managed, json={})).status_code == 201
    assert (await api.http.get("/v2/credentials/mobile/configurations", headers=managed)).status_code == 200
    hook = {"interactionHook": {"url": "https://hook.example.com/step"}}
    assert (await api.http.put("/v1/openid/configuration", headers=managed, json=hook)).status_code == 200
    for method, path, body in (
        ("POST", "/v2/credentials/mobile/iacas", {"country": "NZ"}),
        ("POST", "/v2/credentials/mobile/configurations", {"type": "x", "claimMappings": {}, "expiresIn": {"days": 1}}),
        ("POST", "/v1/users/authentication-providers", {"url": "https://idp.example.com", "clientId": "c"}),
        ("POST", "/v1/api-clients", {"name": "x", "roles": ["admin"]}),
        ("PUT", "/v1/config/tenant", {}),
    ):
        assert (await api.http.request(method, path, headers=managed, json=body)).status_code == 403, path


async def test_claims_to_sync_and_claims_to_persist_must_agree(api: Any) -> None:
    headers = await reference_token(api)
    body = {"url": "https://idp.example.com", "clientId": "c", "clientSecret": "s" * 16}
    both = await api.http.post(
        "/v1/users/authentication-providers",
        headers=headers,
        json={**body, "claimsToSync": ["email"], "claimsToPersist": ["name"]},
    )
    assert_error(both, 400, "BadRequest", "claimsToSync")
    same = await api.http.post(
        "/v1/users/authentication-providers",
        headers=headers,
        json={**body, "claimsToSync": ["email"], "claimsToPersist": ["email"]},
    )
    assert same.status_code == 201 and same.json()["claimsToPersist"] == ["email"]
    cursor = await api.http.get("/v1/users/authentication-providers", headers=headers, params={"cursor": "junk"})
    assert_error(cursor, 400, "BadRequest", "cursor")
