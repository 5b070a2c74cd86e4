"""Tenants on the wallet side and platform administration, on SQLite and PostgreSQL.

Two tenants, each with its own host, keys, IACA and configurations: each one's wallets get credentials from its
own metadata; what one tenant issued (an offer, a pre-authorized code, an access token, a nonce, a PAR request
URI) is refused at the other's endpoints with the same error as an unknown one; a tenant's management token only
reaches its own objects.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pymdoccbor.mdoc.verifier import MobileDocument
from typer.testing import CliRunner

from e2e.conftest import Api
from oi_issuer import CLAIMS, MDL, NS
from oi_testing import TEST_MASTER_KEY, make_settings
from oi_wallet import PRE_AUTHORIZED_GRANT, Wallet
from openissuer.adapters.sql.migrate import upgrade_database
from openissuer.bootstrap import build
from openissuer.cli.commands import app
from openissuer.crypto.base64url import decode_base64url
from openissuer.domain.api_clients import Role
from openissuer.domain.ids import DEFAULT_TENANT_ID

MAPPINGS = {
    NS: {
        "given_name": {"mapFrom": "claims.given_name", "type": "string", "required": True},
        "family_name": {"mapFrom": "claims.family_name", "type": "string", "required": True},
    }
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite and PostgreSQL only: tenants are about real databases shared by processes."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tenants.db'}"
    else:
        url = str(request.getfixturevalue("fresh_postgres_url"))
    upgrade_database(url)
    return url


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"allow_unregistered_public_clients": True}


@dataclass
class TenantSetup:
    id: str
    url: str
    headers: dict[str, str]
    iaca: x509.Certificate
    configuration_id: str

    async def offer(self, api: Api, **body: Any) -> dict[str, Any]:
        payload = {"credentials": [self.configuration_id], "claims": CLAIMS, **body}
        response = await api.http.post("/v1/openid/offers/pre-authorized", headers=self.headers, json=payload)
        assert response.status_code == 200, response.text
        return dict(response.json())


async def platform_headers(api: Api) -> dict[str, str]:
    created = await api.container.api_clients.create_client(
        DEFAULT_TENANT_ID, name="platform", roles=(Role.PLATFORM_ADMIN,)
    )
    return await api.auth(created.client.client_id, created.client_secret)


async def new_tenant(api: Api, platform: dict[str, str], name: str, url: str) -> TenantSetup:
    created = await api.http.post("/v1/tenants", headers=platform, json={"name": name, "publicUrl": url})
    assert created.status_code == 201, created.text
    body = created.json()
    headers = await api.auth(body["adminClient"]["clientId"], body["adminClient"]["clientSecret"])
    iaca = (await api.http.post("/v2/credentials/mobile/iacas", headers=headers, json={"country": "NZ"})).json()
    await api.http.put(f"/v2/credentials/mobile/iacas/{iaca['id']}", headers=headers, json={"active": True})
    configuration = await api.http.post(
        "/v2/credentials/mobile/configurations",
        headers=headers,
        json={"type": MDL, "claimMappings": MAPPINGS, "expiresIn": {"days": 30}},
    )
    assert configuration.status_code == 201, configuration.text
    certificate = x509.load_pem_x509_certificate(iaca["certificatePem"].encode())
    return TenantSetup(body["id"], url, headers, certificate, configuration.json()["id"])


@pytest.fixture
async def tenants(api: Api) -> tuple[TenantSetup, TenantSetup]:
    platform = await platform_headers(api)
    a = await new_tenant(api, platform, "Alpha", "https://alpha.example")
    b = await new_tenant(api, platform, "Beta", "https://beta.example:8443")
    return a, b


def verify(credential: str, root: x509.Certificate) -> dict[str, Any]:
    issuer_signed = cbor2.loads(decode_base64url(credential))
    document = MobileDocument(docType=MDL, issuerSigned=issuer_signed)
    document.verify(trusted_root_certs=[root])
    assert document.is_valid
    return {
        cbor2.loads(i.value)["elementIdentifier"]: cbor2.loads(i.value)["elementValue"]
        for i in issuer_signed["nameSpaces"][NS]
    }


async def test_each_tenant_issues_from_its_own_metadata_keys_and_configurations(
    api: Api, tenants: tuple[TenantSetup, TenantSetup]
) -> None:
    for tenant, other in (tenants, tenants[::-1]):
        wallet = Wallet(api.http)
        offer_uri = (await tenant.offer(api))["uri"]
        offer = await wallet.read_offer(offer_uri)
        assert offer["credential_issuer"] == tenant.url
        metadata, as_metadata = await wallet.discover(tenant.url)
        assert list(metadata["credential_configurations_supported"]) == [tenant.configuration_id]
        assert metadata["credential_endpoint"] == tenant.url + "/v1/openid/credential"
        assert as_metadata["issuer"] == tenant.url
        (credential,) = await wallet.claim(offer_uri)
        assert verify(credential, tenant.iaca) == {"given_name": "Ana", "family_name": "Ngata"}
        with pytest.raises(Exception):  # noqa: B017 - pymdoccbor raises several types for an untrusted chain
            verify(credential, other.iaca)
        iacas = (await api.http.get(tenant.url + "/v1/openid/iacas")).json()["data"]
        assert [i["certificatePem"] for i in iacas] == [tenant.iaca.public_bytes(Encoding.PEM).decode()]


async def test_the_default_tenant_answers_its_own_and_unknown_hosts(
    api: Api, tenants: tuple[TenantSetup, TenantSetup]
) -> None:
    for host in ("https://issuer.example", "https://unknown-host.example"):
        metadata = (await api.http.get(host + "/.well-known/openid-credential-issuer")).json()
        assert metadata["credential_issuer"] == "https://issuer.example"
        assert metadata["credential_configurations_supported"] == {}
    # a path-based issuer publishes at its path only (RFC 8414 path insertion)
    gamma = await new_tenant(api, await platform_headers(api), "Gamma", "https://gamma.example/issuer")
    for name in ("openid-credential-issuer", "oauth-authorization-server"):
        assert (await api.http.get(f"https://gamma.example/.well-known/{name}")).status_code == 404
        assert (await api.http.get(f"https://gamma.example/.well-known/{name}/other")).status_code == 404
    found = await api.http.get("https://gamma.example/.well-known/openid-credential-issuer/issuer")
    assert found.status_code == 200 and found.json()["credential_issuer"] == gamma.url
    assert found.json()["nonce_endpoint"] == "https://gamma.example/issuer/v1/openid/nonce"


async def test_what_one_tenant_issued_is_unknown_at_the_other(
    api: Api, tenants: tuple[TenantSetup, TenantSetup]
) -> None:
    a, b = tenants
    wallet = Wallet(api.http)
    # an offer by reference
    by_reference = await a.offer(api, byReference=True)
    reference_url = parse_qs(urlsplit(by_reference["uri"]).query)["credential_offer_uri"][0]
    reference = reference_url.rsplit("/", 1)[1]
    at_b = await api.http.get(f"{b.url}/v1/openid/credential-offers/{reference}")
    unknown = await api.http.get(f"{b.url}/v1/openid/credential-offers/nope.nope")
    assert at_b.status_code == unknown.status_code == 404
    assert at_b.json() == unknown.json()
    assert (await api.http.get(reference_url)).status_code == 200  # still fine at A
    # a pre-authorized code
    offer = await wallet.read_offer((await a.offer(api))["uri"])
    code = offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    b_token = b.url + "/v1/oauth/token"
    form = {"grant_type": PRE_AUTHORIZED_GRANT}
    at_b = await api.http.post(b_token, data={**form, "pre-authorized_code": code})
    unknown = await api.http.post(b_token, data={**form, "pre-authorized_code": "unknown-code"})
    assert at_b.status_code == unknown.status_code == 400
    assert at_b.json() == unknown.json()
    # ...and A's code still works at A afterwards: the attempt at B used nothing up
    token_a = await api.http.post(a.url + "/v1/oauth/token", data={**form, "pre-authorized_code": code})
    assert token_a.status_code == 200, token_a.text
    access_a = token_a.json()["access_token"]
    # an access token
    metadata_b, _ = await wallet.discover(b.url)
    nonce_b = await wallet.nonce(metadata_b)
    body = {"credential_configuration_id": b.configuration_id, "proofs": {"jwt": [wallet.proof(metadata_b, nonce_b)]}}
    at_b = await wallet.credential(metadata_b, access_a, body)
    unknown = await wallet.credential(metadata_b, "unknown-token", body)
    assert at_b.status_code == unknown.status_code == 401
    assert at_b.json() == unknown.json()
    # a nonce: A's nonce in a proof for B, with B's own token
    metadata_a, _ = await wallet.discover(a.url)
    nonce_a = await wallet.nonce(metadata_a)
    offer_b = await wallet.read_offer((await b.offer(api))["uri"])
    access_b = (await wallet.token(offer_b)).json()["access_token"]
    proof = {"credential_configuration_id": b.configuration_id}
    at_b = await wallet.credential(
        metadata_b, access_b, {**proof, "proofs": {"jwt": [wallet.proof(metadata_b, nonce_a)]}}
    )
    unknown = await wallet.credential(
        metadata_b, access_b, {**proof, "proofs": {"jwt": [wallet.proof(metadata_b, "unknown-nonce")]}}
    )
    assert at_b.status_code == unknown.status_code == 400
    assert at_b.json() == unknown.json() and at_b.json()["error"] == "invalid_nonce"
    # a proof made for A's issuer identifier is refused at B
    wrong_audience = wallet.proof(metadata_a, await wallet.nonce(metadata_b))
    refused = await wallet.credential(metadata_b, access_b, {**proof, "proofs": {"jwt": [wrong_audience]}})
    assert refused.json()["error"] == "invalid_proof"
    # a PAR request URI
    par = await api.http.post(
        a.url + "/v1/oauth/par",
        data={
            "response_type": "code",
            "client_id": "wallet",
            "redirect_uri": "https://wallet.example/cb",
            "scope": MDL,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
    )
    assert par.status_code == 201, par.text
    request_uri = par.json()["request_uri"]
    params = {"client_id": "wallet"}
    at_b = await api.http.get(b.url + "/v1/oauth/authorize", params={**params, "request_uri": request_uri})
    unknown = await api.http.get(b.url + "/v1/oauth/authorize", params={**params, "request_uri": request_uri + "x"})
    assert at_b.status_code == unknown.status_code == 400
    assert at_b.text == unknown.text


async def test_a_tenant_token_only_reaches_its_own_tenant(api: Api, tenants: tuple[TenantSetup, TenantSetup]) -> None:
    a, b = tenants
    offer_b = await b.offer(api)
    iacas_b = (await api.http.get("/v2/credentials/mobile/iacas", headers=b.headers)).json()["data"]
    for method, path in (
        ("GET", f"/v2/credentials/mobile/configurations/{b.configuration_id}"),
        ("PUT", f"/v2/credentials/mobile/configurations/{b.configuration_id}"),
        ("DELETE", f"/v2/credentials/mobile/configurations/{b.configuration_id}"),
        ("GET", f"/v2/credentials/mobile/iacas/{iacas_b[0]['id']}"),
        ("DELETE", f"/v1/openid/offers/pre-authorized/{offer_b['id']}"),
        ("GET", f"/v1/openid/offers/{offer_b['id']}/qrcode"),
    ):
        json = {"type": MDL, "claimMappings": MAPPINGS, "expiresIn": {"days": 1}} if method == "PUT" else None
        response = await api.http.request(method, path, headers=a.headers, json=json)
        assert response.status_code == 404, (method, path, response.text)
    listed = (await api.http.get("/v2/credentials/mobile/configurations", headers=a.headers)).json()["data"]
    assert [c["id"] for c in listed] == [a.configuration_id]
    refused = await api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=a.headers,
        json={"credentials": [b.configuration_id], "claims": CLAIMS},
    )
    assert refused.status_code == 400 and refused.json()["details"][0]["param"] == "credentials.0"
    # a tenant admin is no platform admin, and cannot make itself one
    assert (await api.http.get("/v1/tenants", headers=a.headers)).status_code == 403
    escalate = await api.http.post(
        "/v1/api-clients", headers=a.headers, json={"name": "x", "roles": ["platform-admin"]}
    )
    assert escalate.status_code == 403


async def test_tenants_api(api: Api, tenants: tuple[TenantSetup, TenantSetup]) -> None:
    a, b = tenants
    platform = await platform_headers(api)
    listed = (await api.http.get("/v1/tenants", headers=platform)).json()["data"]
    assert {(t["id"], t["publicUrl"]) for t in listed} == {
        (DEFAULT_TENANT_ID, "https://issuer.example"),
        (a.id, a.url),
        (b.id, b.url),
    }
    assert (await api.http.get(f"/v1/tenants/{a.id}", headers=platform)).json()["name"] == "Alpha"
    taken = await api.http.post(
        "/v1/tenants", headers=platform, json={"name": "x", "publicUrl": "https://ALPHA.example/"}
    )
    assert taken.status_code == 409 and taken.json()["details"][0]["param"] == "publicUrl"
    default_host = await api.http.post(
        "/v1/tenants", headers=platform, json={"name": "x", "publicUrl": "https://issuer.example/other"}
    )
    assert default_host.status_code == 409
    for bad in ("ftp://x.example", "https://x.example/?q=1", "not a url", "https://user@x.example"):
        response = await api.http.post("/v1/tenants", headers=platform, json={"name": "x", "publicUrl": bad})
        assert response.status_code == 400, bad
    # the platform admin's own tenant is the default one: it sees no other tenant's objects
    config_path = f"/v2/credentials/mobile/configurations/{a.configuration_id}"
    assert (await api.http.get(config_path, headers=platform)).status_code == 403  # no role inside a tenant
    assert (await api.http.delete(f"/v1/tenants/{DEFAULT_TENANT_ID}", headers=platform)).status_code == 409
    assert (await api.http.delete(f"/v1/tenants/{a.id}", headers=a.headers)).status_code == 403
    assert (await api.http.delete(f"/v1/tenants/{a.id}", headers=platform)).status_code == 204
    assert (await api.http.delete(f"/v1/tenants/{a.id}", headers=platform)).status_code == 404
    # its clients' tokens stop working, and its host is the default tenant's again
    assert (await api.http.get("/v2/credentials/mobile/configurations", headers=a.headers)).status_code == 401
    await api.container.tenants.forget()
    metadata = (await api.http.get(a.url + "/.well-known/openid-credential-issuer")).json()
    assert metadata["credential_issuer"] == "https://issuer.example"


def test_tenants_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENISSUER_DATABASE_URL", "OPENISSUER_BOOTSTRAP_CLIENT_ID", "OPENISSUER_BOOTSTRAP_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENISSUER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENISSUER_MASTER_KEY", TEST_MASTER_KEY)
    monkeypatch.setenv("OPENISSUER_LOG_LEVEL", "error")
    runner = CliRunner()
    created = runner.invoke(app, ["tenants", "create", "--name", "Gamma", "--public-url", "https://gamma.example"])
    assert created.exit_code == 0, created.output
    fields = dict(
        line.split(":", 1) for line in created.stdout.splitlines() if ":" in line and not line.startswith(" ")
    )
    tenant_id = fields["tenant_id"].strip()
    assert fields["client_secret"].strip()
    listed = runner.invoke(app, ["tenants", "list"])
    assert listed.exit_code == 0 and tenant_id in listed.stdout and "https://gamma.example" in listed.stdout
    assert fields["client_secret"].strip() not in listed.stdout
    duplicate = runner.invoke(app, ["tenants", "create", "--name", "G2", "--public-url", "https://gamma.example/x"])
    assert duplicate.exit_code == 1
    same_host = runner.invoke(app, ["tenants", "create", "--name", "G3", "--public-url", "http://GAMMA.example.:443"])
    assert same_host.exit_code == 1 and "publicUrl: its host is another tenant's" in same_host.output
    invalid = runner.invoke(app, ["tenants", "create", "--name", "G4", "--public-url", "https://g4.example/a/../b"])
    assert invalid.exit_code == 1 and "publicUrl: must be an http(s) URL" in invalid.output
    assert "G3" not in runner.invoke(app, ["tenants", "list"]).stdout
    assert runner.invoke(app, ["tenants", "delete", tenant_id]).exit_code == 0
    assert runner.invoke(app, ["tenants", "delete", tenant_id]).exit_code == 1
    assert tenant_id not in runner.invoke(app, ["tenants", "list"]).stdout
    platform = runner.invoke(app, ["clients", "create", "--role", "platform-admin"])
    assert platform.exit_code == 0, platform.output


async def test_a_new_tenant_is_served_by_another_process_within_a_second(
    api: Api, api_database_url: str, tmp_path: Path
) -> None:
    """A second container on the same database stands for another worker: it learns of a new tenant at once."""
    platform = await platform_headers(api)
    other = build(make_settings(tmp_path, database_url=api_database_url))  # type: ignore[arg-type]
    try:
        before = await other.tenants.resolve_host("delta.example")
        assert before.id == DEFAULT_TENANT_ID
        created = await new_tenant(api, platform, "Delta", "https://delta.example")
        await asyncio.sleep(1.05)  # the miss reload is rate-limited to one a second
        after = await other.tenants.resolve_host("delta.example")
        assert after.id == created.id and after.issuer == "https://delta.example"
        assert (await other.tenants.by_id(created.id)).issuer == "https://delta.example"
    finally:
        await other.aclose()
