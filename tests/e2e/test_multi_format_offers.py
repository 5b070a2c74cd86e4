"""One offer, several formats, one token: an mDL, an SD-JWT VC, a CWT and a credential of the test-only plugin
format of the same person, claimed in one flow by each grant (the Pre-authorized Code flow, and the Authorization
Code flow against a real OpenID provider process), on memory, SQLite and PostgreSQL. Also the SD-JWT VC alone by
the Authorization Code flow.

Each credential request names one configuration (one request per configuration, each with a fresh c_nonce);
every credential is verified by an independent implementation; all of them carry the same person's claims,
because the grant keeps the claims it was made with and each format maps them through its own configuration.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.jwk import ECKey

from oi_cwt import create_cwt_configuration, verify_with_python_cwt
from oi_idp import IdP, pkce_pair, running_idp
from oi_issuer import Setup, make_setup
from oi_sd_jwt import SD_JWT_CONFIGURATION, verify_sd_jwt_vc
from oi_test_format import JwsTestFormat
from oi_wallet import Wallet
from openissuer.bootstrap import default_formats
from openissuer.domain.ids import DEFAULT_TENANT_ID

pytestmark = pytest.mark.slow

ISSUER = "https://issuer.example"
WALLET_REDIRECT = "https://wallet.example/cb"
CALLBACK = "https://issuer.example/v1/oauth/authentication/callback"
PERSON = {"given_name": "Ana", "family_name": "Ngata", "birth_date": "1990-01-02", "city": "Wellington"}


@pytest.fixture(scope="module")
def idp() -> Iterator[IdP]:
    with running_idp() as provider:
        yield provider


@pytest.fixture
def api_database_url(every_backend_url: str) -> str:
    return every_backend_url


@pytest.fixture
def api_formats() -> list[object]:
    return [*default_formats(), JwsTestFormat()]


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"outbound_allow_private": True}


class Issuer:
    """An active IACA and four configurations: the mDL (``setup``), an SD-JWT VC, a CWT and a test-format
    credential (a format defined only in the tests)."""

    def __init__(self, setup: Setup, sd_jwt_id: str, cwt_id: str, test_id: str) -> None:
        self.setup, self.sd_jwt_id, self.cwt_id, self.test_id = setup, sd_jwt_id, cwt_id, test_id

    @property
    def ids(self) -> list[str]:
        return [self.setup.configuration_id, self.sd_jwt_id, self.cwt_id, self.test_id]

    async def verify_all(self, http: httpx.AsyncClient, wallet: Wallet, credentials: dict[str, str]) -> Person:
        """Verify each credential with an independent implementation (pymdoccbor, the sd-jwt reference package,
        python-cwt with the served DID document, joserfc); return the person's claims of each."""
        mdl = self.setup.verify(credentials[self.setup.configuration_id], wallet)
        sd_jwt = verify_sd_jwt_vc(credentials[self.sd_jwt_id], self.setup.iaca_pem, issuer=ISSUER, holder=wallet.key)
        compact = await verify_with_python_cwt(http, credentials[self.cwt_id])
        test = _verify_test_jws(credentials[self.test_id], self.setup.iaca_pem)
        assert test["cnf"]["jwk"] == wallet.key.as_dict(private=False)
        return Person(mdl, sd_jwt.claims, compact, test["claims"])


@dataclass
class Person:
    """The claims of each of the four credentials."""

    mdl: dict[str, Any]
    sd_jwt: dict[str, Any]
    cwt: dict[Any, Any]
    test: dict[str, Any]

    def assert_same(self, given_name: str) -> None:
        assert self.mdl["given_name"] == self.sd_jwt["given_name"] == self.test["given_name"] == given_name
        assert self.cwt["given_name"] == given_name
        assert self.mdl["family_name"] == self.sd_jwt["family_name"] == self.cwt["family_name"]
        assert str(self.mdl["birth_date"]) == self.sd_jwt["birthdate"]


async def make_issuer(api: Any) -> Issuer:
    setup = await make_setup(api)
    sd_jwt = await api.http.post(
        "/v2/credentials/sd-jwt/configurations", headers=setup.headers, json=SD_JWT_CONFIGURATION
    )
    assert sd_jwt.status_code == 201, sd_jwt.text
    compact = await create_cwt_configuration(
        api,
        setup.headers,
        type="Person Card",
        claimMappings={
            "given_name": {"mapFrom": "claims.given_name", "required": True},
            "family_name": {"mapFrom": "claims.family_name"},
        },
    )
    test = await api.http.post(
        "/v2/credentials/test-jws/configurations",
        headers=setup.headers,
        json={"type": "test:person", "claimMappings": {"given_name": {"mapFrom": "claims.given_name"}}},
    )
    assert test.status_code == 201, test.text
    return Issuer(setup, sd_jwt.json()["id"], compact["id"], test.json()["id"])


def _verify_test_jws(token: str, iaca_pem: str) -> dict[str, Any]:
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(iaca_pem.encode()))
    public = leaf.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    registry = jws.JWSRegistry(algorithms=["ES256"])
    registry.max_header_length = 4096
    return dict(json.loads(jws.deserialize_compact(token, ECKey.import_key(public), registry=registry).payload))


async def claim_each(
    wallet: Wallet, access_token: str, targets: dict[str, dict[str, str]]
) -> tuple[dict[str, str], dict[str, str]]:
    """One credential request per configuration (``targets``: configuration id -> what the request names it by),
    each with its own c_nonce; return the credentials and the notification ids, by configuration id."""
    metadata, _ = await wallet.discover(ISSUER)
    credentials, notifications = {}, {}
    for configuration_id, target in targets.items():
        body = {**target, "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]}}
        response = await wallet.credential(metadata, access_token, body)
        assert response.status_code == 200, response.text
        (entry,) = response.json()["credentials"]
        credentials[configuration_id] = entry["credential"]
        notifications[configuration_id] = response.json()["notification_id"]
    return credentials, notifications


async def notify_all(api: Any, access_token: str, notifications: dict[str, str]) -> None:
    """Each response's notification id names its own credentials; every one is accepted."""
    assert len(set(notifications.values())) == len(notifications)
    for notification_id in notifications.values():
        response = await api.http.post(
            "/v1/openid/notification",
            headers={"Authorization": f"Bearer {access_token}"},
            json={"notification_id": notification_id, "event": "credential_accepted"},
        )
        assert response.status_code == 204, response.text


async def test_a_multi_format_offer_by_the_pre_authorized_code_flow(api: Any) -> None:
    issuer = await make_issuer(api)
    earlier = await issuer.setup.offer(
        claims={**PERSON, "document_number": "DL-1"}, claimsToPersist=["document_number"]
    )
    created = await api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=issuer.setup.headers,
        json={"credentials": issuer.ids, "claims": PERSON, "userId": earlier["userId"]},
    )
    assert created.status_code == 200, created.text
    wallet = Wallet(api.http)
    offer = await wallet.read_offer(created.json()["uri"])
    assert offer["credential_configuration_ids"] == issuer.ids
    token = await wallet.token(offer)
    assert token.status_code == 200, token.text
    access_token = token.json()["access_token"]
    # While the wallet claims, the issuer changes the user's persisted claims: the grant keeps those it was made
    # with, so every credential of the offer is mapped from the same claims.
    async with api.container.uow_factory() as uow:
        user_id = created.json()["userId"]
        await uow.users.update_claims(DEFAULT_TENANT_ID, user_id, {"document_number": "Changed"}, api.clock.now())
        await uow.commit()
    credentials, notifications = await claim_each(
        wallet, access_token, {cid: {"credential_configuration_id": cid} for cid in issuer.ids}
    )
    person = await issuer.verify_all(api.http, wallet, credentials)
    person.assert_same("Ana")
    assert person.sd_jwt["address"] == {"locality": "Wellington", "country": "NZ"}
    assert person.mdl["document_number"] == "DL-1"  # persisted before the offer, as the grant keeps it
    await notify_all(api, access_token, notifications)
    async with api.container.uow_factory() as uow:
        records = (await uow.issued_credentials.list(DEFAULT_TENANT_ID, limit=10, after=None)).items
    assert sorted(r.format for r in records) == ["cwt", "dc+sd-jwt", "jwt_test", "mso_mdoc"]
    assert {r.offer_id for r in records} == {created.json()["id"]}


class CodeFlow:
    """The wallet's side of the Authorization Code flow, the browser's part played by two HTTP clients."""

    def __init__(self, api: Any, idp: IdP, client_id: str) -> None:
        self.api, self.idp, self.client_id = api, idp, client_id

    async def token(self, subject: str, claims: dict[str, Any], **params: str) -> dict[str, Any]:
        verifier, challenge = pkce_pair()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": WALLET_REDIRECT,
            "state": "s-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **params,
        }
        start = await self.api.http.get("/v1/oauth/authorize", params=query)
        assert start.status_code == 302, start.text
        async with httpx.AsyncClient() as browser:
            callback = await self.idp.login(browser, start.headers["location"], subject=subject, claims=claims)
        back = await self.api.http.get(callback.removeprefix(ISSUER))
        assert back.status_code == 302, back.text
        code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WALLET_REDIRECT,
            "client_id": self.client_id,
            "code_verifier": verifier,
        }
        token = await self.api.http.post("/v1/oauth/token", data=form)
        assert token.status_code == 200, token.text
        return dict(token.json())


async def make_code_flow(api: Any, idp: IdP, issuer: Issuer) -> tuple[CodeFlow, dict[str, Any]]:
    headers = issuer.setup.headers
    registered = idp.register_client([CALLBACK])
    provider = await api.http.post(
        "/v1/users/authentication-providers",
        headers=headers,
        json={"url": idp.issuer, "clientId": registered.client_id, "clientSecret": registered.client_secret},
    )
    assert provider.status_code == 201, provider.text
    client = await api.http.post(
        "/v1/openid/clients", headers=headers, json={"clientName": "Wallet", "redirectUris": [WALLET_REDIRECT]}
    )
    assert client.status_code == 201, client.text
    offer = await api.http.post("/v1/openid/offers", headers=headers, json={"credentials": issuer.ids})
    assert offer.status_code == 200, offer.text
    credential_offer = await Wallet(api.http).read_offer(offer.json()["uri"])
    assert credential_offer["credential_configuration_ids"] == issuer.ids
    return CodeFlow(api, idp, client.json()["clientId"]), credential_offer


async def test_a_multi_format_offer_by_the_authorization_code_flow(api: Any, idp: IdP) -> None:
    issuer = await make_issuer(api)
    flow, offer = await make_code_flow(api, idp, issuer)
    details = json.dumps(
        [
            {"type": "openid_credential", "credential_configuration_id": cid}
            for cid in offer["credential_configuration_ids"]
        ]
    )
    token = await flow.token(
        "ana",
        PERSON,
        authorization_details=details,
        issuer_state=offer["grants"]["authorization_code"]["issuer_state"],
    )
    identifiers = {
        d["credential_configuration_id"]: d["credential_identifiers"][0] for d in token["authorization_details"]
    }
    assert set(identifiers) == set(issuer.ids)
    wallet = Wallet(api.http)
    credentials, notifications = await claim_each(
        wallet, token["access_token"], {cid: {"credential_identifier": identifiers[cid]} for cid in issuer.ids}
    )
    person = await issuer.verify_all(api.http, wallet, credentials)
    person.assert_same("Ana")
    await notify_all(api, token["access_token"], notifications)


async def test_an_sd_jwt_vc_by_the_authorization_code_flow(api: Any, idp: IdP) -> None:
    issuer = await make_issuer(api)
    flow, _ = await make_code_flow(api, idp, issuer)
    metadata, as_metadata = await Wallet(api.http).discover(ISSUER)
    scope = metadata["credential_configurations_supported"][issuer.sd_jwt_id]["scope"]
    assert scope == SD_JWT_CONFIGURATION["vct"] and scope in as_metadata["scopes_supported"]
    token = await flow.token("ana", {**PERSON, "nationalities": ["NZ"]}, scope=scope)
    wallet = Wallet(api.http)
    credentials, _ = await claim_each(
        wallet, token["access_token"], {issuer.sd_jwt_id: {"credential_configuration_id": issuer.sd_jwt_id}}
    )
    verified = verify_sd_jwt_vc(credentials[issuer.sd_jwt_id], issuer.setup.iaca_pem, issuer=ISSUER, holder=wallet.key)
    assert verified.claims["given_name"] == "Ana" and verified.claims["nationalities"] == ["NZ"]
    assert verified.payload["iss"] == ISSUER
    # The token covers only what the holder asked for.
    denied = await claim_each_refused(wallet, token["access_token"], issuer.setup.configuration_id)
    assert denied == "credential_request_denied"


async def claim_each_refused(wallet: Wallet, access_token: str, configuration_id: str) -> str:
    metadata, _ = await wallet.discover(ISSUER)
    body = {
        "credential_configuration_id": configuration_id,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]},
    }
    response = await wallet.credential(metadata, access_token, body)
    assert response.status_code == 400
    return str(response.json()["error"])
