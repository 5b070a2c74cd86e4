"""The test OpenID provider (tests/oi_idp.py) works end to end, without any openissuer code.

A plain HTTP client plays the relying party: authorization request with PKCE S256 and nonce, login at the
provider, code exchange, and an ID token verified with joserfc against the provider's JWKS.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jwk, jwt
from joserfc.errors import BadSignatureError, JoseError

from oi_idp import IdP, IdPLoginError, OIDCClient, pkce_pair, query_params, running_idp

pytestmark = pytest.mark.slow

REDIRECT_URI = "http://127.0.0.1:9/callback"
ALICE = {"given_name": "Alice", "family_name": "Liddell", "birthdate": "1990-01-02"}


@pytest.fixture(scope="module")
def idp() -> Iterator[IdP]:
    with running_idp() as provider:
        yield provider


@pytest.fixture(autouse=True)
def _clean_faults(idp: IdP) -> Iterator[None]:
    yield
    if idp.running:
        idp.clear_faults()


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


class Request:
    """One authorization request: its URL and the secrets the relying party keeps."""

    def __init__(self, idp: IdP, client: OIDCClient, **extra: str) -> None:
        self.state = secrets.token_urlsafe(16)
        self.nonce = secrets.token_urlsafe(16)
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        self.url = f"{idp.metadata['authorization_endpoint']}?{urlencode(params)}"


def register(idp: IdP, method: str = "client_secret_basic") -> OIDCClient:
    client = idp.register_client([REDIRECT_URI], token_endpoint_auth_method=method)  # type: ignore[arg-type]
    assert client.redirect_uris == (REDIRECT_URI,)
    return client


async def exchange(
    http: httpx.AsyncClient,
    idp: IdP,
    client: OIDCClient,
    code: str,
    verifier: str | None,
    *,
    method: str | None = None,
    secret: str | None = None,
) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        form["code_verifier"] = verifier
    secret = client.client_secret if secret is None else secret
    if (method or client.token_endpoint_auth_method) == "client_secret_post":
        form |= {"client_id": client.client_id, "client_secret": secret}
        return await http.post(idp.metadata["token_endpoint"], data=form)
    return await http.post(idp.metadata["token_endpoint"], data=form, auth=(client.client_id, secret))


async def verify_id_token(http: httpx.AsyncClient, idp: IdP, id_token: str, **expected: Any) -> dict[str, Any]:
    jwks = (await http.get(idp.metadata["jwks_uri"])).json()
    token = jwt.decode(id_token, jwk.KeySet.import_key_set(jwks), algorithms=["RS256"])
    options = {name: {"essential": True, "value": value} for name, value in expected.items()}
    jwt.JWTClaimsRegistry(leeway=5, exp={"essential": True}, iat={"essential": True}, **options).validate(token.claims)
    return dict(token.claims)


async def login_alice(http: httpx.AsyncClient, idp: IdP, client: OIDCClient, **extra: str) -> tuple[Request, str]:
    request = Request(idp, client, **extra)
    callback = await idp.login(http, request.url, subject="alice", claims={**ALICE, "email": "alice@example.org"})
    return request, callback


async def test_discovery_describes_the_provider(idp: IdP, browser: httpx.AsyncClient) -> None:
    metadata = (await browser.get(idp.discovery_url)).json()
    assert metadata["issuer"] == idp.issuer == f"http://127.0.0.1:{idp.port}"
    assert metadata["authorization_endpoint"] == idp.authorization_endpoint
    assert metadata["token_endpoint"] == idp.token_endpoint
    assert metadata["jwks_uri"] == idp.jwks_uri
    assert "code" in metadata["response_types_supported"]
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_authorization_code_flow_end_to_end(idp: IdP, browser: httpx.AsyncClient, method: str) -> None:
    client = register(idp, method)
    request = Request(idp, client)
    claims = {**ALICE, "email": "alice@example.org", "member_number": "A-42"}

    callback = await idp.login(browser, request.url, subject="alice", claims=claims)

    assert callback.startswith(REDIRECT_URI + "?")
    params = query_params(callback)
    assert params["state"] == request.state
    assert params["code"]

    response = await exchange(browser, idp, client, params["code"], request.verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == {"openid", "profile", "email"}
    id_claims = await verify_id_token(
        browser, idp, tokens["id_token"], iss=idp.issuer, aud=client.client_id, nonce=request.nonce, sub="alice"
    )
    assert {k: id_claims[k] for k in claims} == claims

    token_requests = idp.requests(idp.token_endpoint)
    last = token_requests[-1]
    if method == "client_secret_basic":
        assert (last["auth_scheme"], last["basic_username"]) == ("basic", client.client_id)
    else:
        assert last["auth_scheme"] is None and last["form"]["client_id"] == client.client_id
    assert idp.requests(idp.authorization_endpoint)[-1]["query"]["code_challenge_method"] == "S256"

    userinfo = await browser.get(idp.userinfo_endpoint, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == "alice" and userinfo.json()["given_name"] == "Alice"


async def test_standard_claims_are_released_by_scope(idp: IdP, browser: httpx.AsyncClient) -> None:
    client = register(idp)
    request, callback = await login_alice(browser, idp, client, scope="openid")
    tokens = (await exchange(browser, idp, client, query_params(callback)["code"], request.verifier)).json()
    id_claims = await verify_id_token(browser, idp, tokens["id_token"], sub="alice")
    assert not set(ALICE) & set(id_claims)
    assert "email" not in id_claims


async def test_a_code_is_single_use(idp: IdP, browser: httpx.AsyncClient) -> None:
    client = register(idp)
    request, callback = await login_alice(browser, idp, client)
    code = query_params(callback)["code"]
    assert (await exchange(browser, idp, client, code, request.verifier)).status_code == 200
    again = await exchange(browser, idp, client, code, request.verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_client_authentication_is_checked(idp: IdP, browser: httpx.AsyncClient) -> None:
    client = register(idp, "client_secret_basic")
    request, callback = await login_alice(browser, idp, client)
    code = query_params(callback)["code"]

    wrong_secret = await exchange(browser, idp, client, code, request.verifier, secret="not-the-secret")
    wrong_method = await exchange(browser, idp, client, code, request.verifier, method="client_secret_post")

    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    assert wrong_method.status_code == 401 and wrong_method.json()["error"] == "invalid_client"
    assert (await exchange(browser, idp, client, code, request.verifier)).status_code == 200


async def test_pkce_is_enforced(idp: IdP, browser: httpx.AsyncClient) -> None:
    client = register(idp)
    request, callback = await login_alice(browser, idp, client)
    code = query_params(callback)["code"]

    missing = await exchange(browser, idp, client, code, None)
    wrong = await exchange(browser, idp, client, code, pkce_pair()[0])

    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert (await exchange(browser, idp, client, code, request.verifier)).status_code == 200


async def test_a_verifier_without_a_challenge_is_refused(idp: IdP, browser: httpx.AsyncClient) -> None:
    client = register(idp)
    request = Request(idp, client)
    url = request.url.replace("code_challenge=", "x_code_challenge=")
    code = query_params(await idp.login(browser, url, subject="alice", claims=ALICE))["code"]
    refused = await exchange(browser, idp, client, code, request.verifier)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


async def test_pkce_can_be_required(browser: httpx.AsyncClient) -> None:
    with running_idp(require_pkce=True) as strict:
        client = register(strict)
        request = Request(strict, client)
        url = request.url.replace("code_challenge=", "x_code_challenge=")
        params = query_params(await strict.login(browser, url, subject="alice", claims=ALICE))
        assert params["error"] == "invalid_request" and params["state"] == request.state
        assert "code" not in params


async def test_the_user_can_deny(idp: IdP, browser: httpx.AsyncClient) -> None:
    client = register(idp)
    request = Request(idp, client)
    callback = await idp.login(browser, request.url, subject="alice", claims=ALICE, deny=True)
    assert callback.startswith(REDIRECT_URI)
    params = query_params(callback)
    assert params["error"] == "access_denied" and params["state"] == request.state
    assert "code" not in params


async def test_the_authorization_endpoint_can_fail(idp: IdP, browser: httpx.AsyncClient) -> None:
    client = register(idp)
    idp.fail_authorization("temporarily_unavailable", "try later", times=1)

    request, callback = await login_alice(browser, idp, client)
    params = query_params(callback)
    assert callback.startswith(REDIRECT_URI)
    assert params == {"error": "temporarily_unavailable", "error_description": "try later", "state": request.state}

    _, callback = await login_alice(browser, idp, client)  # times=1: the next login works again
    assert "code" in query_params(callback)


async def test_unknown_clients_and_redirect_uris_get_an_error_page(idp: IdP, browser: httpx.AsyncClient) -> None:
    client = register(idp)
    stranger = OIDCClient("no-such-client", "secret", (REDIRECT_URI,), "client_secret_basic")
    with pytest.raises(IdPLoginError) as unknown:
        await login_alice(browser, idp, stranger)
    with pytest.raises(IdPLoginError) as unregistered:
        await login_alice(browser, idp, client, redirect_uri="http://127.0.0.1:9/elsewhere")
    assert unknown.value.status_code == unregistered.value.status_code == 400


async def test_endpoints_can_fail_or_be_slow(idp: IdP, browser: httpx.AsyncClient) -> None:
    client = register(idp)
    request, callback = await login_alice(browser, idp, client)
    idp.fail(idp.token_endpoint, 503, json_body={"error": "temporarily_unavailable"}, times=1)
    failed = await exchange(browser, idp, client, query_params(callback)["code"], request.verifier)
    assert failed.status_code == 503 and failed.json() == {"error": "temporarily_unavailable"}

    idp.delay(idp.jwks_uri, 2.0, times=1)
    with pytest.raises(httpx.ReadTimeout):
        await browser.get(idp.jwks_uri, timeout=0.5)
    assert (await browser.get(idp.jwks_uri)).status_code == 200


@pytest.mark.parametrize(
    ("fault", "broken"),
    [
        ({"sign_with": "foreign"}, "signature"),
        ({"sign_with": "none"}, "signature"),
        ({"claims": {"nonce": "replayed"}}, "nonce"),
        ({"claims": {"aud": "someone-else"}}, "aud"),
        ({"claims": {"iss": "http://evil.example"}}, "iss"),
        ({"claims": {"exp": 1}}, "exp"),
    ],
)
async def test_id_tokens_can_be_tampered_with(
    idp: IdP, browser: httpx.AsyncClient, fault: dict[str, Any], broken: str
) -> None:
    client = register(idp)
    request, callback = await login_alice(browser, idp, client)
    idp.tamper_id_token(times=1, **fault)
    tokens = (await exchange(browser, idp, client, query_params(callback)["code"], request.verifier)).json()

    expected = {"iss": idp.issuer, "aud": client.client_id, "nonce": request.nonce, "sub": "alice"}
    with pytest.raises((BadSignatureError, JoseError, ValueError)) as error:
        await verify_id_token(browser, idp, tokens["id_token"], **expected)
    if broken != "signature":
        assert broken in str(error.value)


async def test_the_idp_can_go_down_and_come_back(browser: httpx.AsyncClient) -> None:
    with running_idp() as provider:
        issuer, port, pid = provider.issuer, provider.port, provider.pid
        old_keys = (await browser.get(provider.jwks_uri)).json()

        provider.stop()
        assert not provider.running
        with pytest.raises(httpx.ConnectError):
            await browser.get(provider.discovery_url)

        provider.start()
        assert (provider.issuer, provider.port) == (issuer, port) and provider.pid != pid
        assert (await browser.get(provider.discovery_url)).json()["issuer"] == issuer
        assert (await browser.get(provider.jwks_uri)).json() != old_keys  # a new process, a new key
    assert provider.last_log  # kept for debugging after the process is gone


def test_nothing_is_left_behind() -> None:
    with running_idp() as provider:
        process = provider._process
        assert process is not None and provider.port is not None
        port = provider.port
    assert process.returncode is not None
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
