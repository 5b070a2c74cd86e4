"""Wallet-facing differences closed for the reference platform's wallets and SDKs: the draft-era credential request
and response, and where offer URIs point (a wallet's own scheme or claimed link, per tenant or per offer)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from oi_issuer import CLAIMS, MDL, Setup, make_setup
from oi_sd_jwt import SD_JWT_CONFIGURATION, verify_sd_jwt_vc
from oi_wallet import Wallet

ISSUER = "https://issuer.example"


@pytest.fixture
async def setup(api: Any) -> Setup:
    return await make_setup(api)


async def _token(
    setup: Setup, wallet: Wallet, configuration_ids: list[str] | None = None
) -> tuple[dict[str, Any], str]:
    created = await setup.offer(credentials=configuration_ids or [setup.configuration_id])
    offer = await wallet.read_offer(created["uri"])
    metadata, _ = await wallet.discover(offer["credential_issuer"])
    token = await wallet.token(offer)
    assert token.status_code == 200, token.text
    return metadata, token.json()["access_token"]


async def _legacy(wallet: Wallet, metadata: dict[str, Any], access_token: str, **body: Any) -> Any:
    return await wallet.credential(metadata, access_token, body)


async def test_the_sdk_credential_request_gets_the_sdk_response(setup: Setup) -> None:
    """Reference §2.5 step 7: ``{format: "mso_mdoc", doctype, proof: {proof_type: "jwt", jwt}}`` -> §3.6
    ``{format, credential}``."""
    wallet = Wallet(setup.api.http)
    metadata, access_token = await _token(setup, wallet)
    proof = {"proof_type": "jwt", "jwt": wallet.proof(metadata, await wallet.nonce(metadata))}
    response = await _legacy(wallet, metadata, access_token, format="mso_mdoc", doctype=MDL, proof=proof)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"format", "credential"} and response.json()["format"] == "mso_mdoc"
    assert setup.verify(response.json()["credential"], wallet)["given_name"] == CLAIMS["given_name"]
    # The 1.0 request with the same token still gets the 1.0 response.
    body = {
        "credential_configuration_id": setup.configuration_id,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]},
    }
    standard = await wallet.credential(metadata, access_token, body)
    assert standard.status_code == 200 and set(standard.json()) == {"credentials", "notification_id"}


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"format": "mso_mdoc", "doctype": "org.example.other"}, 400, "unknown_credential_configuration"),
        ({"format": "ldp_vc", "doctype": MDL}, 400, "unknown_credential_configuration"),
        ({"format": "mso_mdoc", "doctype": MDL}, 400, "invalid_proof"),  # no proof for a bound credential
        ({"format": "mso_mdoc", "doctype": MDL, "proof": {"proof_type": "cwt", "cwt": "x"}}, 400, "invalid_proof"),
        ({"format": "mso_mdoc", "doctype": MDL, "proof": {"proof_type": "jwt"}}, 400, "invalid_proof"),
        ({"format": "mso_mdoc", "doctype": 7}, 400, "invalid_credential_request"),
        ({"format": "", "doctype": MDL}, 400, "invalid_credential_request"),
    ],
)
async def test_legacy_requests_are_checked_like_standard_ones(
    setup: Setup, body: dict[str, Any], status: int, error: str
) -> None:
    wallet = Wallet(setup.api.http)
    metadata, access_token = await _token(setup, wallet)
    response = await wallet.credential(metadata, access_token, body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    anonymous = await setup.api.http.post(metadata["credential_endpoint"], json=body)
    assert anonymous.status_code == 401  # the token is checked before anything else is said


async def test_a_legacy_request_for_a_configuration_the_token_does_not_cover(setup: Setup) -> None:
    sd_jwt = await setup.api.http.post(
        "/v2/credentials/sd-jwt/configurations", headers=setup.headers, json=SD_JWT_CONFIGURATION
    )
    assert sd_jwt.status_code == 201, sd_jwt.text
    wallet = Wallet(setup.api.http)
    metadata, access_token = await _token(setup, wallet)  # an mDL offer
    proof = {"proof_type": "jwt", "jwt": wallet.proof(metadata, await wallet.nonce(metadata))}
    body = {"format": "dc+sd-jwt", "vct": SD_JWT_CONFIGURATION["vct"], "proof": proof}
    refused = await wallet.credential(metadata, access_token, body)
    assert refused.status_code == 400 and refused.json()["error"] == "credential_request_denied"
    # With a token that covers it, the same request selects the SD-JWT VC by its vct.
    wallet = Wallet(setup.api.http)
    metadata, access_token = await _token(setup, wallet, [sd_jwt.json()["id"]])
    body["proof"] = {"proof_type": "jwt", "jwt": wallet.proof(metadata, await wallet.nonce(metadata))}
    issued = await wallet.credential(metadata, access_token, body)
    assert issued.status_code == 200, issued.text
    assert issued.json()["format"] == "dc+sd-jwt"
    verify_sd_jwt_vc(issued.json()["credential"], setup.iaca_pem, issuer=ISSUER, holder=wallet.key)


def _offer_of(uri: str) -> tuple[str, dict[str, list[str]]]:
    before, _, query = uri.partition("?")
    return before, parse_qs(query)


@pytest.mark.parametrize(
    "endpoint",
    ["openid-credential-offer://", "com.example.wallet://", "https://wallet.example.com/offer", "mdoc-openid4vci://x"],
)
async def test_offers_point_at_the_tenants_wallet_endpoint_or_the_offers_own(setup: Setup, endpoint: str) -> None:
    http, headers = setup.api.http, setup.headers
    settings = await http.put("/v1/config/tenant", headers=headers, json={"credentialOfferEndpoint": endpoint})
    assert settings.status_code == 200, settings.text
    before, query = _offer_of((await setup.offer())["uri"])
    assert before == endpoint and "credential_offer" in query
    own = "com.other.wallet://accept"
    before, query = _offer_of((await setup.offer(credentialOfferEndpoint=own))["uri"])
    assert before == own
    by_reference = await setup.offer(byReference=True)
    before, query = _offer_of(by_reference["uri"])
    assert before == endpoint and query["credential_offer_uri"][0].startswith(f"{ISSUER}/v1/openid/credential-offers/")
    # The QR code shows the URI the offer was made with, even after the tenant's default changes.
    await http.put("/v1/config/tenant", headers=headers, json={})
    principal = await setup.api.container.management_auth.authenticate(headers["Authorization"].split()[1])
    assert (await setup.api.container.offers.offer_uri_as(principal, by_reference["id"])).startswith(endpoint + "?")
    auth_code = await http.post(
        "/v1/openid/offers",
        headers=headers,
        json={"credentials": [setup.configuration_id], "credentialOfferEndpoint": "https://wallet.example.com/offer"},
    )
    before, query = _offer_of(auth_code.json()["uri"])
    assert before == "https://wallet.example.com/offer"
    assert json.loads(unquote(query["credential_offer"][0]))["credentials"] == [setup.configuration_id]


@pytest.mark.parametrize(
    "endpoint",
    [
        "javascript://alert(1)",
        "JavaScript://alert(1)",
        "data://text/html,x",
        "file:///etc/passwd",
        "http://wallet.example.com/offer",
        "https://wallet.example.com/offer?x=1",
        "https://wallet.example.com/offer#x",
        "https://user:pw@wallet.example.com/offer",
        "https:///offer",
        "openid-credential-offer:",
        "wallet offer://",
        "1wallet://",
        "com.example.wallet://\n",
        "x" * 600 + "://",
        "",
    ],
)
async def test_unusable_wallet_endpoints_are_refused(setup: Setup, endpoint: str) -> None:
    http, headers = setup.api.http, setup.headers
    settings = await http.put("/v1/config/tenant", headers=headers, json={"credentialOfferEndpoint": endpoint})
    assert settings.status_code == 400, settings.text
    assert settings.json()["details"][0]["param"] == "credentialOfferEndpoint"
    body = {"credentials": [setup.configuration_id], "claims": CLAIMS, "credentialOfferEndpoint": endpoint}
    offer = await http.post("/v1/openid/offers/pre-authorized", headers=headers, json=body)
    assert offer.status_code == 400 and "credentialOfferEndpoint" in [d["param"] for d in offer.json()["details"]]
    auth_code = await http.post(
        "/v1/openid/offers",
        headers=headers,
        json={"credentials": [setup.configuration_id], "credentialOfferEndpoint": endpoint},
    )
    assert auth_code.status_code == 400
    assert urlsplit((await setup.offer())["uri"]).scheme == "openid-credential-offer"  # nothing was stored
