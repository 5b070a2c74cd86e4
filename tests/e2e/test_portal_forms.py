"""The portal's create and edit forms through the in-process ASGI app: each stores through the API's service (read
back through the API), bad input comes back next to its field with nothing stored, and no secret (a provider's or a
claims source's client secret, an API key, the hook's secret after its one showing) reaches a page or a log line.
"""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from e2e.conftest import PLATFORM_ADMIN_ID, PLATFORM_ADMIN_SECRET, Api, portal_of
from oi_cwt import CLAIMS, create_cwt_configuration
from oi_issuer import MDL, make_setup
from oi_portal import PortalClient
from oi_wallet import Wallet
from openissuer.domain.api_clients import Role

PROVIDER_SECRET = "provider-secret-value-4567"
API_KEY = "claims-api-key-value-8899"
OAUTH_SECRET = "claims-oauth-secret-value-3344"


async def api_get(api: Api, path: str) -> Any:
    response = await api.http.get(path, headers=await api.auth())
    assert response.status_code == 200, response.text
    return response.json()


async def principal(api: Api) -> Any:
    """The bootstrap admin, as the services see it."""
    return await api.container.management_auth.authenticate(await api.token())


@pytest.fixture
async def iaca_pem(api: Api) -> str:
    """A PEM certificate (an IACA's), to use as a trust anchor."""
    response = await api.http.post("/v2/credentials/mobile/iacas", headers=await api.auth(), json={"country": "NZ"})
    assert response.status_code == 201, response.text
    return str(response.json()["certificatePem"])


def field_error(page: str, field: str) -> str:
    """The message shown next to a form field (fails when there is none)."""
    match = re.search(rf'<p class="field-error" id="e-{re.escape(field)}">([^<]*)</p>', page)
    assert match, f"no error next to {field}"
    return html.unescape(match.group(1))


PROVIDER_FORM = {
    "url": "https://idp.example.com",
    "clientId": "issuer-at-idp",
    "clientSecret": PROVIDER_SECRET,
    "scope": "openid profile",
    "tokenEndpointAuthMethod": "client_secret_post",
    "claimsToPersist": "email, given_name",
    "forwardedRequestParameters": "login_hint",
    "staticRequestParameters": '{"prompt": "login"}',
}


async def test_the_authentication_provider_is_created_and_edited_with_its_secret_write_only(
    api: Api, admin: PortalClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await admin.post("/authentication/providers/new", PROVIDER_FORM)
    assert created.status_code == 303, created.text
    (stored,) = (await api_get(api, "/v1/users/authentication-providers"))["data"]
    assert stored["scope"] == ["openid", "profile"]
    assert stored["claimsToPersist"] == ["email", "given_name"]
    assert stored["staticRequestParameters"] == {"prompt": "login"}
    assert stored["tokenEndpointAuthMethod"] == "client_secret_post"
    listing = await admin.get("/authentication")
    edit = await admin.get(f"/authentication/providers/{stored['id']}")
    assert "****4567" in listing.text and "****4567" in edit.text
    assert 'value="issuer-at-idp"' in edit.text and stored["redirectUrl"] in edit.text

    # Saved with the secret left empty: the secret is kept, the rest replaced.
    form = PROVIDER_FORM | {"clientSecret": "", "scope": "openid", "claimsToPersist": ""}
    saved = await admin.post(f"/authentication/providers/{stored['id']}", form)
    assert saved.status_code == 303, saved.text
    provider = await api.container.authentication_providers.get_as(await principal(api), stored["id"])
    assert api.container.authentication_providers.client_secret(provider) == PROVIDER_SECRET
    assert provider.scope == ("openid",) and provider.claims_to_persist == ()

    # Refused: each problem next to its field, nothing changed, the typed secret not sent back.
    bad = PROVIDER_FORM | {"url": "http://idp.example.com", "scope": "profile", "staticRequestParameters": "{"}
    refused = await admin.post(f"/authentication/providers/{stored['id']}", bad)
    assert refused.status_code == 400
    assert "must be a JSON object" in field_error(refused.text, "staticRequestParameters")
    bad["staticRequestParameters"] = '{"state": "x"}'
    refused = await admin.post(f"/authentication/providers/{stored['id']}", bad)
    assert refused.status_code == 400
    assert field_error(refused.text, "url")
    assert field_error(refused.text, "scope") == "must contain openid"
    assert field_error(refused.text, "staticRequestParameters") == "state: is set by openissuer"
    provider = await api.container.authentication_providers.get_as(await principal(api), stored["id"])
    assert provider.url == "https://idp.example.com" and provider.scope == ("openid",)
    for page in (created, listing, edit, saved, refused):
        assert PROVIDER_SECRET not in page.text
    assert PROVIDER_SECRET not in caplog.text


async def test_a_provider_without_a_secret_or_a_second_one_is_refused(api: Api, admin: PortalClient) -> None:
    refused = await admin.post("/authentication/providers/new", PROVIDER_FORM | {"clientSecret": ""})
    assert refused.status_code == 400
    assert field_error(refused.text, "clientSecret") == "is required"
    assert (await api_get(api, "/v1/users/authentication-providers"))["data"] == []
    assert (await admin.post("/authentication/providers/new", PROVIDER_FORM)).status_code == 303
    second = await admin.post("/authentication/providers/new", PROVIDER_FORM)
    assert second.status_code == 409 and PROVIDER_SECRET not in second.text
    assert len((await api_get(api, "/v1/users/authentication-providers"))["data"]) == 1


async def test_a_wallet_client_is_registered_and_edited(api: Api, admin: PortalClient, iaca_pem: str) -> None:
    form = {
        "clientId": "wallet-one",
        "clientName": "Wallet One",
        "redirectUris": "https://wallet.example.com/cb\n\nhttp://127.0.0.1:8080/cb\n",
        "grant-authorization_code": "on",
    }
    created = await admin.post("/authentication/wallet-clients/new", form)
    assert created.status_code == 303, created.text
    (stored,) = (await api_get(api, "/v1/openid/clients"))["data"]
    assert stored["clientId"] == "wallet-one"
    assert stored["redirectUris"] == ["https://wallet.example.com/cb", "http://127.0.0.1:8080/cb"]
    assert stored["grantTypes"] == ["authorization_code"]
    path = f"/authentication/wallet-clients/{stored['id']}"
    assert created.headers["location"].startswith("/portal" + path)

    edit = form | {"clientName": "Renamed", "rootCertificates": iaca_pem, "dpopRequired": "on"}
    assert (await admin.post(path, edit)).status_code == 303
    updated = await api_get(api, f"/v1/openid/clients/{stored['id']}")
    assert updated["clientName"] == "Renamed" and updated["clientId"] == "wallet-one"
    assert updated["clientAttestation"]["dpopRequired"] is True
    assert len(updated["clientAttestation"]["rootCertificates"]) == 1
    page = await admin.get(path)
    assert "BEGIN CERTIFICATE" in page.text and 'value="Renamed"' in page.text

    refused = await admin.post(path, form | {"rootCertificates": "not a certificate"})
    assert refused.status_code == 400
    assert field_error(refused.text, "rootCertificates") == "0: is not a PEM X.509 certificate"
    refused = await admin.post(path, form | {"dpopRequired": "on"})
    assert refused.status_code == 400
    assert "at least 1 item" in field_error(refused.text, "rootCertificates")
    refused = await admin.post(
        path, form | {"redirectUris": "https://wallet.example.com/cb\nhttp://wallet.example.com/cb"}
    )
    assert refused.status_code == 400
    assert field_error(refused.text, "redirectUris") == (
        "1: http is only allowed for loopback (got 'http://wallet.example.com/cb')"
    )
    assert (await api_get(api, f"/v1/openid/clients/{stored['id']}"))["clientName"] == "Renamed"
    refused = await admin.post("/authentication/wallet-clients/new", {"redirectUris": ""})
    assert refused.status_code == 400
    assert field_error(refused.text, "redirectUris") == "must list at least one redirect URI"
    assert len((await api_get(api, "/v1/openid/clients"))["data"]) == 1


API_KEY_SOURCE = {
    "name": "HR records",
    "url": "https://hr.example.com/claims",
    "requestMethod": "POST",
    "requestParameters": '{"employee": {"mapFrom": "claims.employeeId"}}',
    "authType": "api-key",
    "apiKey": API_KEY,
}


async def test_a_claims_source_is_created_and_edited_with_its_secrets_write_only(
    api: Api, admin: PortalClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await admin.post("/claims-sources/new", API_KEY_SOURCE)
    assert created.status_code == 303, created.text
    (stored,) = (await api_get(api, "/v1/claim-sources"))["data"]
    assert stored["requestMethod"] == "POST"
    assert stored["requestParameters"] == {"employee": {"mapFrom": "claims.employeeId"}}
    assert stored["authorization"] == {"type": "api-key", "value": "****8899"}
    path = f"/claims-sources/{stored['id']}"
    pages = [created, await admin.get("/claims-sources"), await admin.get(path)]
    assert "****8899" in pages[-1].text

    # Kept when left empty, as on PUT.
    saved = await admin.post(path, API_KEY_SOURCE | {"apiKey": "", "name": "HR"})
    assert saved.status_code == 303
    assert (await api_get(api, "/v1/claim-sources/" + stored["id"]))["authorization"]["value"] == "****8899"

    # Switching to OAuth needs its own secret; the API key typed alongside is not echoed back.
    oauth = API_KEY_SOURCE | {
        "authType": "oauth-client-credentials",
        "tokenEndpoint": "https://auth.example.com/token",
        "oauthClientId": "",
        "oauthClientSecret": "",
        "oauthTokenEndpointAuthMethod": "client_secret_post",
    }
    refused = await admin.post(path, oauth | {"oauthClientId": "issuer"})
    assert refused.status_code == 400
    assert field_error(refused.text, "oauthClientSecret") == "is required"
    pages.append(refused)
    refused = await admin.post(path, oauth | {"oauthClientSecret": OAUTH_SECRET})
    assert refused.status_code == 400
    assert field_error(refused.text, "oauthClientId").startswith("String should have at least 1 character")
    pages.append(refused)
    switched = await admin.post(path, oauth | {"oauthClientId": "issuer", "oauthClientSecret": OAUTH_SECRET})
    assert switched.status_code == 303
    authorization = (await api_get(api, "/v1/claim-sources/" + stored["id"]))["authorization"]
    assert authorization == {
        "type": "oauth-client-credentials",
        "tokenEndpoint": "https://auth.example.com/token",
        "clientId": "issuer",
        "clientSecret": "****3344",
        "tokenEndpointAuthMethod": "client_secret_post",
    }
    pages.append(await admin.get(path))
    for page in pages:
        assert API_KEY not in page.text and OAUTH_SECRET not in page.text
    assert API_KEY not in caplog.text and OAUTH_SECRET not in caplog.text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"requestParameters": "[1]"}, "requestParameters", "must be a JSON object"),
        ({"requestParameters": '{"a": {"mapFrom": "nowhere.x"}}'}, "requestParameters", "a.mapFrom: "),
        ({"requestParameters": "[" * 5000}, "requestParameters", "must be a JSON object"),
        ({"url": "https://10.0.0.1/claims"}, "url", ""),
        ({"name": ""}, "name", "must be 1-"),
        ({"apiKey": ""}, "apiKey", "is required"),
        ({"authType": "password"}, "authType", "Input tag 'password' found"),
        ({"requestMethod": "PUT"}, "requestMethod", "Input should be 'GET' or 'POST'"),
    ],
)
async def test_a_bad_claims_source_is_refused_next_to_its_field(
    api: Api, admin: PortalClient, change: dict[str, str], field: str, message: str
) -> None:
    refused = await admin.post("/claims-sources/new", API_KEY_SOURCE | change)
    assert refused.status_code == 400, refused.text
    assert message in field_error(refused.text, field)
    assert API_KEY not in refused.text
    assert (await api_get(api, "/v1/claim-sources"))["data"] == []


async def test_the_interaction_hook_secret_is_shown_once(
    api: Api, admin: PortalClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    form = {"url": "https://hook.example.com/step", "claims": "email given_name", "sessionTimeoutInSec": "300"}
    refused = await admin.post("/interaction-hook", form | {"sessionTimeoutInSec": "soon"})
    assert refused.status_code == 400
    assert "valid integer" in field_error(refused.text, "sessionTimeoutInSec")
    refused = await admin.post("/interaction-hook", form | {"url": "https://hook.example.com/step?x=1"})
    assert refused.status_code == 400 and field_error(refused.text, "url")
    assert await api.container.interaction_hooks.get_as(await principal(api)) is None

    configured = await admin.post("/interaction-hook", form)
    assert configured.status_code == 201
    shown = re.search(r'id="hook-secret">([^<]+)<', configured.text)
    view = await api.container.interaction_hooks.get_as(await principal(api))
    assert shown and view is not None and shown.group(1) == view.secret
    assert view.hook.claims == ("email", "given_name") and view.hook.session_timeout == 300

    saved = await admin.post("/interaction-hook", form | {"disabled": "on"})
    assert saved.status_code == 303
    later = [saved, await admin.get("/interaction-hook"), await admin.get("/claims-sources")]
    view = await api.container.interaction_hooks.get_as(await principal(api))
    assert view is not None and view.hook.disabled and view.secret == shown.group(1)  # kept
    for page in later:
        assert view.secret not in page.text
    assert view.secret not in caplog.text

    assert (await admin.post("/interaction-hook/delete")).status_code == 303
    again = await admin.post("/interaction-hook", form)
    renewed = re.search(r'id="hook-secret">([^<]+)<', again.text)
    assert again.status_code == 201 and renewed and renewed.group(1) != shown.group(1)


async def test_each_credential_of_a_user_has_its_status_changed_through_the_status_service(
    api: Api, admin: PortalClient, auditor: PortalClient
) -> None:
    setup = await make_setup(api)
    url = f"/v2/credentials/mobile/configurations/{setup.configuration_id}"
    body = {k: v for k, v in (await api_get(api, url)).items() if k != "id"} | {"includeStatus": True}
    assert (await api.http.put(url, headers=setup.headers, json=body)).status_code == 200
    offer = await setup.offer()
    await Wallet(api.http).claim(offer["uri"])
    user_id = offer["userId"]
    (record,) = (await api_get(api, f"/v1/users/{user_id}/credentials"))["data"]
    credential = record["id"]
    status_url = f"/v2/credentials/mobile/{credential}/status"
    page = await admin.get(f"/users/{user_id}")
    options = re.search(rf'<select id="f-status-{credential}" name="status">(.*?)</select>', page.text, re.DOTALL)
    assert options and re.findall(r'<option value="(\w+)"', options.group(1)) == ["valid", "invalid", "suspended"]
    path = f"/users/{user_id}/credentials/{credential}"
    lists = await admin.get("/status-lists/mobile/lists")
    (listed,) = (await api_get(api, "/v2/credentials/mobile/status-lists"))["data"]
    row = re.search(r"<tr><td><code>([^<]+)</code></td><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td>", lists.text)
    assert row and row.groups() == (listed["id"], MDL, "100000", str(listed["allocatedCount"]))
    assert f'href="{listed["uri"]}"' in lists.text and int(row.group(4)) >= 1
    issued = datetime.fromisoformat(record["issuedDate"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"<td>{issued}</td>" in page.text  # the issue date in the credential's row
    read_only = await auditor.get(f"/users/{user_id}")
    assert credential in read_only.text and "<select" not in read_only.text and f"{path}/status" not in read_only.text

    suspended = await admin.post(f"{path}/status", {"profile": "mobile", "status": "suspended"})
    assert suspended.status_code == 303 and suspended.headers["location"].endswith("done=suspended")
    assert await api_get(api, status_url) == {"status": "suspended"}
    refused = await admin.post(f"{path}/status", {"profile": "mobile", "status": "revoked"})
    assert refused.status_code == 400
    assert field_error(refused.text, f"status-{credential}").startswith("must be one of valid, invalid, suspended")
    refused = await admin.post(f"{path}/status", {"profile": "compact", "status": "valid"})
    assert refused.status_code == 404  # not a CWT: the profile must be the record's
    other_user = (await api.http.post("/v1/users", headers=setup.headers, json={"claims": {}})).json()["id"]
    elsewhere = f"/users/{other_user}/credentials/{credential}"
    refused = await admin.post(f"{elsewhere}/status", {"profile": "mobile", "status": "valid"})
    assert refused.status_code == 404  # the credential is not that user's: nothing changes under another user's page
    assert (await admin.post(f"{elsewhere}/delete", {"profile": "mobile"})).status_code == 404
    assert await api_get(api, status_url) == {"status": "suspended"}
    assert (await admin.post(f"{path}/status", {"profile": "mobile", "status": "invalid"})).status_code == 303
    refused = await admin.post(f"{path}/status", {"profile": "mobile", "status": "valid"})
    assert refused.status_code == 409
    assert field_error(refused.text, f"status-{credential}") == "cannot change from invalid to valid (got 'valid')"
    assert await api_get(api, status_url) == {"status": "invalid"}

    deleted = await admin.post(f"{path}/delete", {"profile": "mobile"})
    assert deleted.status_code == 303
    assert (await api.http.get(status_url, headers=setup.headers)).status_code == 404
    assert credential not in (await admin.get(f"/users/{user_id}")).text
    again = await admin.post(f"{path}/delete", {"profile": "mobile"})
    assert again.status_code == 404


async def test_a_cwt_is_revoked_and_reinstated_one_by_one(api: Api, admin: PortalClient) -> None:
    headers = await api.auth()
    configuration = await create_cwt_configuration(api, headers)
    offer = await api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=headers,
        json={"credentials": [configuration["id"]], "claims": CLAIMS},
    )
    await Wallet(api.http).claim(offer.json()["uri"])
    user_id = offer.json()["userId"]
    (record,) = (await api_get(api, f"/v1/users/{user_id}/credentials"))["data"]
    page = await admin.get(f"/users/{user_id}")
    options = re.search(rf'<select id="f-status-{record["id"]}" name="status">(.*?)</select>', page.text, re.DOTALL)
    assert options and re.findall(r'<option value="(\w+)"', options.group(1)) == ["valid", "revoked"]
    path = f"/users/{user_id}/credentials/{record['id']}/status"
    status_url = f"/v2/credentials/compact/{record['id']}/revocation-status"
    assert (await admin.post(path, {"profile": "compact", "status": "revoked"})).status_code == 303
    assert (await api_get(api, status_url))["isRevoked"] is True
    refused = await admin.post(path, {"profile": "compact", "status": "suspended"})
    assert refused.status_code == 400 and "must be one of valid, revoked" in refused.text
    assert (await admin.post(path, {"profile": "compact", "status": "valid"})).status_code == 303
    assert (await api_get(api, status_url))["isRevoked"] is False


async def test_status_list_configurations_are_created_edited_and_deleted(api: Api, admin: PortalClient) -> None:
    form = {"docType": MDL, "timeToLiveDuration-hours": "1", "expiryDuration-days": "3"}
    created = await admin.post("/status-lists/mobile/configurations/new", form)
    assert created.status_code == 303, created.text
    configurations = "/v2/credentials/mobile/status-lists/configurations"
    (stored,) = (await api_get(api, configurations))["data"]
    assert stored == {
        "id": stored["id"],
        "docType": MDL,
        "timeToLiveDuration": {"hours": 1},
        "expiryDuration": {"days": 3},
    }
    assert created.headers["location"].startswith(f"/portal/status-lists/mobile/configurations/{stored['id']}")
    listing = await admin.get("/status-lists")
    assert MDL in listing.text and "1 hours" in listing.text and "3 days" in listing.text

    again = await admin.post("/status-lists/mobile/configurations/new", form)
    assert again.status_code == 409
    assert field_error(again.text, "docType") == f"already has a status list configuration (got '{MDL}')"
    path = f"/status-lists/mobile/configurations/{stored['id']}"
    edit = await admin.get(path)
    assert 'name="timeToLiveDuration-hours" type="number" min="0" inputmode="numeric" value="1"' in edit.text
    saved = await admin.post(path, {"timeToLiveDuration-minutes": "30", "expiryDuration-weeks": "1"})
    assert saved.status_code == 303
    stored = await api_get(api, f"{configurations}/{stored['id']}")
    assert stored["timeToLiveDuration"] == {"minutes": 30} and stored["expiryDuration"] == {"weeks": 1}

    refused = await admin.post(path, {"timeToLiveDuration-seconds": "30", "expiryDuration-days": "-1"})
    assert refused.status_code == 400
    assert field_error(refused.text, "expiryDuration").startswith("days: Input should be greater than or equal to 0")
    assert 'value="-1"' in refused.text  # what was typed comes back to be corrected
    refused = await admin.post(path, {"timeToLiveDuration-seconds": "30", "expiryDuration-days": "1"})
    assert refused.status_code == 400
    assert field_error(refused.text, "timeToLiveDuration") == "must be at least one minute"
    refused = await admin.post(path, {"timeToLiveDuration-hours": "x"})
    assert refused.status_code == 400 and "valid integer" in field_error(refused.text, "timeToLiveDuration")
    assert (await api_get(api, f"{configurations}/{stored['id']}")) == stored

    sd_jwt = await admin.post("/status-lists/sd-jwt/configurations/new", {"vct": "", "expiryDuration-days": "1"})
    assert sd_jwt.status_code == 400 and field_error(sd_jwt.text, "vct").startswith("must be 1-")
    assert (await admin.get("/status-lists/compact/configurations/new")).status_code == 404  # CWTs have none

    assert (await admin.post(f"{path}/delete")).status_code == 303
    assert (await api_get(api, configurations))["data"] == []
    assert (await admin.get(path)).status_code == 404


async def test_tenant_settings_are_viewed_and_edited(api: Api, admin: PortalClient) -> None:
    form = {"defaultCountry": "NZ", "credentialOfferEndpoint": "https://wallet.example.com/offer"}
    assert (await admin.post("/settings", form)).status_code == 303
    stored = await api_get(api, "/v1/config/tenant")
    assert stored["defaultCountry"] == "NZ" and stored["credentialOfferEndpoint"] == "https://wallet.example.com/offer"
    page = await admin.get("/settings")
    assert 'value="NZ"' in page.text and 'value="https://wallet.example.com/offer"' in page.text

    refused = await admin.post("/settings", {"defaultCountry": "XX", "credentialOfferEndpoint": "javascript:alert(1)"})
    assert refused.status_code == 400
    assert field_error(refused.text, "defaultCountry") == "must be an ISO 3166-1 alpha-2 code, e.g. NZ (got 'XX')"
    assert field_error(refused.text, "credentialOfferEndpoint")
    assert await api_get(api, "/v1/config/tenant") == stored

    assert (await admin.post("/settings", {"defaultCountry": "", "credentialOfferEndpoint": ""})).status_code == 303
    cleared = await api_get(api, "/v1/config/tenant")
    assert "defaultCountry" not in cleared and "credentialOfferEndpoint" not in cleared


async def test_the_wallet_security_policy_is_viewed_and_edited_by_an_admin_only(
    api: Api, admin: PortalClient, iaca_pem: str
) -> None:
    refused = await admin.post("/wallet-security", {"haip": "on"})
    assert refused.status_code == 400
    assert field_error(refused.text, "clientAttestationRoots").startswith("wallet attestation is required")
    refused = await admin.post("/wallet-security", {"clientAttestationRoots": iaca_pem + "\nnot a certificate"})
    assert refused.status_code == 400
    assert field_error(refused.text, "clientAttestationRoots") == "1: is not a PEM X.509 certificate"
    refused = await admin.post("/wallet-security", {"keyAttestationRoots": iaca_pem * 21})
    assert refused.status_code == 400
    assert "at most 20" in field_error(refused.text, "keyAttestationRoots")
    assert (await api_get(api, "/v1/openid/wallet-security"))["haip"] is False

    form = {
        "haip": "on",
        "clientAttestationRoots": iaca_pem,
        "keyAttestationRoots": iaca_pem,
        "encryptionRequired": "on",
    }
    assert (await admin.post("/wallet-security", form)).status_code == 303
    policy = await api_get(api, "/v1/openid/wallet-security")
    assert policy["haip"] is True and policy["dpopRequired"] is False
    assert policy["clientAttestation"] == {"required": False, "rootCertificates": [iaca_pem]}
    assert policy["keyAttestation"] == {"rootCertificates": [iaca_pem]}
    assert policy["credentialResponseEncryption"] == {"required": True}
    page = await admin.get("/wallet-security")
    assert 'id="f-haip" name="haip" type="checkbox" value="on" checked' in page.text
    assert page.text.count("BEGIN CERTIFICATE") == 2

    # An issuer changes the tenant settings (as in the API) but neither reads nor changes the policy.
    created = await admin.post("/api-clients", {"name": "issuer", "role-issuer": "on"})
    client_id = re.search(r'id="new-client-id">([^<]+)<', created.text)
    secret = re.search(r'id="new-client-secret">([^<]+)<', created.text)
    assert client_id and secret
    issuer = portal_of(api)
    assert (await issuer.sign_in(client_id.group(1), secret.group(1))).status_code == 303
    assert (await issuer.get("/wallet-security")).status_code == 403
    assert (await issuer.post("/wallet-security", {"dpopRequired": "on"})).status_code == 403
    assert (await api_get(api, "/v1/openid/wallet-security")) == policy
    assert '<form method="post" action="/portal/settings">' in (await issuer.get("/settings")).text


TENANT_FORM = {"name": "Alpha", "publicUrl": "https://alpha.example/"}


def shown(page: str, element_id: str) -> str:
    """The text of the ``<code>`` or ``<pre>`` element with ``element_id`` (fails when there is none)."""
    match = re.search(rf'<(?:code|pre) id="{re.escape(element_id)}">([^<]*)</', page)
    assert match, f"no {element_id} on the page"
    return html.unescape(match.group(1))


async def test_a_tenant_is_created_with_its_admin_secret_shown_once_and_deleted_after_confirmation(
    api: Api, platform_admin: PortalClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert 'href="/portal/tenants"' in (await platform_admin.get("/")).text  # the entry shows for a platform admin
    created = await platform_admin.post("/tenants", TENANT_FORM)
    assert created.status_code == 201, created.text
    tenant_id, client_id = shown(created.text, "new-tenant-id"), shown(created.text, "new-admin-client-id")
    secret = shown(created.text, "new-admin-client-secret")
    assert created.text.count(secret) == 1  # in the notice only, never put back into the form
    assert 'id="f-name" name="name" type="text" value=""' in created.text
    tenant = await api.container.tenant_admin.get_as(await platform_principal(api), tenant_id)
    assert tenant.name == "Alpha" and api.container.tenant_admin.public_url_of(tenant) == "https://alpha.example"
    # The secret is the new tenant's admin client's: its token reaches that tenant only.
    token = await api.token(client_id, secret)
    assert (await api.container.management_auth.authenticate(token)).tenant_id == tenant_id

    listing = await platform_admin.get("/tenants")
    assert "https://alpha.example" in listing.text and f"/portal/tenants/{tenant_id}" in listing.text
    page = await platform_admin.get(f"/tenants/{tenant_id}")
    assert "deletes everything it holds" in page.text
    for typed in ("", "alpha", "Alph"):
        refused = await platform_admin.post(f"/tenants/{tenant_id}/delete", {"confirmName": typed})
        assert refused.status_code == 400
        assert field_error(refused.text, "confirmName") == "must be the tenant's name, exactly"
    assert await api.container.tenant_admin.get_as(await platform_principal(api), tenant_id)
    deleted = await platform_admin.post(f"/tenants/{tenant_id}/delete", {"confirmName": "Alpha"})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/portal/tenants?done=deleted"
    assert tenant_id not in (await platform_admin.get("/tenants")).text
    assert (await api.http.post("/v1/auth/token", json={"client_id": client_id, "client_secret": secret})).is_error
    for response in (listing, page, refused, deleted):
        assert secret not in response.text
    assert secret not in caplog.text


async def platform_principal(api: Api) -> Any:
    return await api.container.management_auth.authenticate(await api.token(PLATFORM_ADMIN_ID, PLATFORM_ADMIN_SECRET))


@pytest.mark.parametrize(
    ("form", "field", "message", "status"),
    [
        ({"name": "", "publicUrl": "https://b.example"}, "name", "String should have at least 1 character", 400),
        ({"name": "B", "publicUrl": "ftp://b.example"}, "publicUrl", "must be an http(s) URL", 400),
        ({"name": "B", "publicUrl": "https://b.example/?q=1"}, "publicUrl", "must be an http(s) URL", 400),
        ({"name": "B", "publicUrl": "https://alpha.example/other"}, "publicUrl", "its host is another tenant's", 409),
        ({"name": "B", "publicUrl": "http://ALPHA.example.:443"}, "publicUrl", "its host is another tenant's", 409),
        ({"name": "B", "publicUrl": "https://<script>.example"}, "publicUrl", "must be an http(s) URL", 400),
        ({"name": "B", "publicUrl": "https://b.example/../x"}, "publicUrl", "must be an http(s) URL", 400),
    ],
)
async def test_a_bad_tenant_is_refused_next_to_its_field_and_nothing_is_stored(
    api: Api, platform_admin: PortalClient, form: dict[str, str], field: str, message: str, status: int
) -> None:
    assert (await platform_admin.post("/tenants", TENANT_FORM)).status_code == 201
    before = await api.container.tenant_admin.list_tenants(limit=100, after=None)
    refused = await platform_admin.post("/tenants", form)
    assert refused.status_code == status, refused.text
    assert field_error(refused.text, field).startswith(message)
    assert f'value="{html.escape(form["publicUrl"])}"' in refused.text  # what was typed comes back
    assert 'id="new-admin-client-secret"' not in refused.text
    assert await api.container.tenant_admin.list_tenants(limit=100, after=None) == before


async def test_the_default_tenant_cannot_be_deleted_from_the_portal(api: Api, platform_admin: PortalClient) -> None:
    default = "00000000-0000-4000-8000-000000000000"
    page = await platform_admin.get(f"/tenants/{default}")
    assert "cannot be deleted" in page.text and "/delete" not in page.text
    tenant = await api.container.tenant_admin.get_as(await platform_principal(api), default)
    forged = await platform_admin.post(f"/tenants/{default}/delete", {"confirmName": tenant.name})
    assert forged.status_code == 409 and "The default tenant cannot be deleted" in forged.text
    assert (await platform_admin.get(f"/tenants/{default}")).status_code == 200
    assert (await platform_admin.get("/tenants/not-a-uuid")).status_code == 400
    assert (await platform_admin.get("/tenants/11111111-1111-4111-8111-111111111111")).status_code == 404


SIGN_FORM = {
    "type": "Course Credential",
    "claims": '{"name": "Emma Jane Tasma", "code": "HS.278", "level": 4, "current": true}',
    "exp": "2030-01-31T12:00",
    "revocable": "on",
}


async def issued_records(api: Api) -> list[str]:
    async with api.container.uow_factory(read_only=True) as uow:
        page = await uow.issued_credentials.list("00000000-0000-4000-8000-000000000000", limit=1000, after=None)
    return [record.id for record in page.items]


def qr_text(page: str) -> str:
    """Decode the QR code image on a page."""
    import base64
    import io

    import zxingcpp
    from PIL import Image

    match = re.search(r'<img id="cwt-qr" src="data:image/png;base64,([^"]+)"', page)
    assert match, "no QR code on the page"
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(match.group(1)))))
    return str(result.text)


async def test_a_cwt_is_signed_shown_with_its_qr_code_and_claims_and_verified(api: Api, admin: PortalClient) -> None:
    signed = await admin.post("/cwt/sign", SIGN_FORM)
    assert signed.status_code == 200, signed.text
    encoded = shown(signed.text, "cwt-encoded")
    assert encoded.startswith("CSC:/1/") and qr_text(signed.text) == encoded
    decoded = json.loads(shown(signed.text, "cwt-decoded"))
    assert decoded["type"] == "Course Credential" and decoded["name"] == "Emma Jane Tasma" and decoded["level"] == 4
    assert decoded["exp"] == int(datetime(2030, 1, 31, 12, tzinfo=UTC).timestamp())
    assert decoded["iss"] == "did:web:issuer.example" and "status" in decoded  # revocable: a list entry
    assert await issued_records(api) == [decoded["jti"]]
    # The API verifies what the portal signed; the portal verifies it too.
    through_api = await api.http.post(
        "/v2/credentials/compact/verify", headers=await api.auth(), json={"payload": encoded}
    )
    assert through_api.json() == {"verified": True, "decoded": decoded}
    verified = await admin.post("/cwt/verify", {"payload": encoded})
    assert verified.status_code == 200 and 'id="cwt-verified"' in verified.text
    assert json.loads(shown(verified.text, "cwt-verified-claims")) == decoded

    await api.http.post(
        f"/v2/credentials/compact/{decoded['jti']}/revocation-status",
        headers=await api.auth(),
        json={"isRevoked": True},
    )
    revoked = await admin.post("/cwt/verify", {"payload": encoded})
    assert 'id="cwt-not-verified"' in revoked.text and "Revoked" in revoked.text
    tampered = await admin.post("/cwt/verify", {"payload": encoded[:-8] + "AAAAAAAA"})
    assert tampered.status_code == 200 and 'id="cwt-not-verified"' in tampered.text
    junk = await admin.post("/cwt/verify", {"payload": "not a credential"})
    assert junk.status_code == 200 and "PayloadInvalid" in junk.text
    empty = await admin.post("/cwt/verify", {"payload": ""})
    assert empty.status_code == 400 and field_error(empty.text, "payload")


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"claims": "{"}, "claims", "must be a JSON object"),
        ({"claims": "[1]"}, "claims", "must be a JSON object"),
        ({"claims": '{"address": {"city": "x"}}'}, "claims", "address: must be a string, a number or a boolean"),
        ({"claims": '{"jti": "mine"}'}, "claims", "jti: is set by the issuer"),
        ({"claims": '{"iss": "did:web:other.example"}'}, "claims", "iss: must be this tenant's DID"),
        ({"claims": '{"type": "A"}', "type": "B"}, "claims", "'type' is set by its own field"),
        ({"type": "x" * 1025}, "type", "must be a string of 1-1024 characters"),
        ({"exp": "tomorrow"}, "exp", "must be a date and time"),
        ({"exp": "1960-01-01T00:00"}, "exp", "must be seconds since the epoch"),
        ({"claims": '{"nbf": 1900000000}', "exp": "2030-01-01T00:00"}, "exp", "must be after nbf"),
    ],
)
async def test_a_bad_cwt_is_refused_next_to_its_field_and_nothing_is_signed(
    api: Api, admin: PortalClient, form: dict[str, str], field: str, message: str
) -> None:
    refused = await admin.post("/cwt/sign", form)
    assert refused.status_code == 400, refused.text
    assert message in field_error(refused.text, field)
    assert 'id="cwt-encoded"' not in refused.text
    assert await issued_records(api) == []


async def test_cwt_tools_follow_the_api_roles(api: Api, auditor: PortalClient) -> None:
    """An auditor verifies but cannot sign; a managed issuer signs (without the QR code, which the API draws for
    admins and issuers only) but cannot verify."""
    page = await auditor.get("/cwt")
    assert 'action="/portal/cwt/verify"' in page.text and 'action="/portal/cwt/sign"' not in page.text
    assert (await auditor.post("/cwt/verify", {"payload": "CSC:/1/AAAA"})).status_code == 200
    assert (await auditor.post("/cwt/sign", SIGN_FORM)).status_code == 403
    created = await api.container.api_clients.create_client(
        "00000000-0000-4000-8000-000000000000", name="managed", roles=(Role.MANAGED_ISSUER,)
    )
    managed = portal_of(api)
    assert (await managed.sign_in(created.client.client_id, created.client_secret)).status_code == 303
    page = await managed.get("/cwt")
    assert 'action="/portal/cwt/sign"' in page.text and 'action="/portal/cwt/verify"' not in page.text
    signed = await managed.post("/cwt/sign", SIGN_FORM)
    assert signed.status_code == 200 and shown(signed.text, "cwt-encoded").startswith("CSC:/1/")
    assert 'id="cwt-qr"' not in signed.text
    assert len(await issued_records(api)) == 1
    assert (await managed.post("/cwt/verify", {"payload": "CSC:/1/AAAA"})).status_code == 403
