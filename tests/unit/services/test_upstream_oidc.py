"""The OpenID Connect client towards the identity provider, against a scripted HttpFetcher."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from oi_testing import FakeClock
from openissuer.domain.authorization import AuthenticationProvider
from openissuer.errors import IdentityProviderError
from openissuer.ports.http import HttpResponse, OutboundConnectionError
from openissuer.services.upstream_oidc import UpstreamOidcClient

ISSUER = "https://idp.example"


class ScriptedFetcher:
    """Answers from a dict of URL -> response, and records every call."""

    def __init__(self) -> None:
        self.routes: dict[str, HttpResponse | Exception] = {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> HttpResponse:
        self.calls.append((method, url, {"headers": dict(headers or {}), "data": data}))
        answer = self.routes[url]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def count(self, url: str) -> int:
        return sum(1 for _, called, _ in self.calls if called == url)


def ok(body: Any) -> HttpResponse:
    return HttpResponse(status=200, headers={"content-type": "application/json"}, body=json.dumps(body).encode())


def provider(method: str = "client_secret_basic") -> AuthenticationProvider:
    now = datetime.now(UTC)
    return AuthenticationProvider(
        id="p",
        tenant_id="t",
        url=ISSUER,
        scope=("openid",),
        client_id="rp",
        sealed_client_secret=b"",
        secret_hint="",
        token_endpoint_auth_method=method,
        static_request_parameters={},
        forwarded_request_parameters=(),
        claims_to_persist=(),
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def keys() -> dict[str, RSAKey]:
    return {
        "k1": RSAKey.generate_key(2048, parameters={"kid": "k1"}),
        "k2": RSAKey.generate_key(2048, parameters={"kid": "k2"}),
    }


@pytest.fixture
def fetcher(keys: dict[str, RSAKey]) -> ScriptedFetcher:
    f = ScriptedFetcher()
    f.routes[f"{ISSUER}/.well-known/openid-configuration"] = ok(
        {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks",
        }
    )
    f.routes[f"{ISSUER}/jwks"] = ok({"keys": [keys["k1"].as_dict(private=False)]})
    return f


def id_token(key: RSAKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "rp", "exp": now + 300, "iat": now, "nonce": "n", "sub": "alice", **claims}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


async def test_valid_id_token(fetcher: ScriptedFetcher, keys: dict[str, RSAKey]) -> None:
    client = UpstreamOidcClient(fetcher, FakeClock())
    subject, claims = await client.verify_id_token(provider(), id_token(keys["k1"], given_name="A"), nonce="n")
    assert subject == "alice" and claims["given_name"] == "A"
    await client.verify_id_token(provider(), id_token(keys["k1"]), nonce="n")
    assert fetcher.count(f"{ISSUER}/jwks") == 1  # cached
    assert fetcher.count(f"{ISSUER}/.well-known/openid-configuration") == 1


async def test_unknown_kid_refreshes_the_key_set_at_most_once_per_cooldown(
    fetcher: ScriptedFetcher, keys: dict[str, RSAKey]
) -> None:
    clock = FakeClock()
    client = UpstreamOidcClient(fetcher, clock, jwks_cooldown=timedelta(seconds=60))
    await client.verify_id_token(provider(), id_token(keys["k1"]), nonce="n")
    fetcher.routes[f"{ISSUER}/jwks"] = ok({"keys": [k.as_dict(private=False) for k in keys.values()]})
    clock.advance(seconds=61)
    await client.verify_id_token(provider(), id_token(keys["k2"]), nonce="n")  # rotated: refetched once
    assert fetcher.count(f"{ISSUER}/jwks") == 2
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k3"})
    with pytest.raises(IdentityProviderError):
        await client.verify_id_token(provider(), id_token(stranger), nonce="n")
    with pytest.raises(IdentityProviderError):
        await client.verify_id_token(provider(), id_token(stranger), nonce="n")
    assert fetcher.count(f"{ISSUER}/jwks") == 2  # within the cool-down: no hammering


async def test_bad_signature_and_claims(fetcher: ScriptedFetcher, keys: dict[str, RSAKey]) -> None:
    client = UpstreamOidcClient(fetcher, FakeClock())
    forged = id_token(keys["k1"])[:-4] + "AAAA"
    for token, nonce in ((forged, "n"), (id_token(keys["k1"]), "other"), (id_token(keys["k1"], aud="x"), "n")):
        with pytest.raises(IdentityProviderError):
            await client.verify_id_token(provider(), token, nonce=nonce)
    unsigned = "eyJhbGciOiJub25lIn0.e30."  # {"alg": "none"}
    with pytest.raises(IdentityProviderError):
        await client.verify_id_token(provider(), unsigned, nonce="n")


async def test_discovery_must_name_the_configured_issuer(fetcher: ScriptedFetcher) -> None:
    fetcher.routes[f"{ISSUER}/.well-known/openid-configuration"] = ok(
        {"issuer": "https://other.example", "authorization_endpoint": "a", "token_endpoint": "t", "jwks_uri": "j"}
    )
    with pytest.raises(IdentityProviderError, match="another issuer"):
        await UpstreamOidcClient(fetcher, FakeClock()).metadata(ISSUER)


@pytest.mark.parametrize(
    "answer",
    [
        HttpResponse(status=500),
        ok({"issuer": ISSUER}),
        HttpResponse(status=200, body=b"not json"),
        ok([1]),
        OutboundConnectionError("refused"),
    ],
)
async def test_discovery_failures(fetcher: ScriptedFetcher, answer: Any) -> None:
    fetcher.routes[f"{ISSUER}/.well-known/openid-configuration"] = answer
    with pytest.raises(IdentityProviderError):
        await UpstreamOidcClient(fetcher, FakeClock()).metadata(ISSUER)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_token_request_client_authentication(fetcher: ScriptedFetcher, method: str) -> None:
    fetcher.routes[f"{ISSUER}/token"] = ok({"id_token": "x.y.z", "access_token": "a"})
    client = UpstreamOidcClient(fetcher, FakeClock())
    await client.exchange_code(provider(method), "s3cret/+", code="c", redirect_uri="https://rp/cb", code_verifier="v")
    _, _, sent = fetcher.calls[-1]
    if method == "client_secret_basic":
        assert sent["headers"]["Authorization"] == "Basic cnA6czNjcmV0JTJGJTJC"  # form-urlencoded, then base64
        assert "client_secret" not in sent["data"]
    else:
        assert sent["data"]["client_secret"] == "s3cret/+" and "Authorization" not in sent["headers"]
    assert sent["data"]["code_verifier"] == "v"


@pytest.mark.parametrize(
    "answer",
    [
        HttpResponse(status=400, body=b'{"error":"invalid_grant"}'),
        ok({"access_token": "a"}),
        HttpResponse(status=200, body=b"<html>"),
    ],
)
async def test_token_endpoint_failures(fetcher: ScriptedFetcher, answer: HttpResponse) -> None:
    fetcher.routes[f"{ISSUER}/token"] = answer
    with pytest.raises(IdentityProviderError):
        await UpstreamOidcClient(fetcher, FakeClock()).exchange_code(
            provider(), "s", code="c", redirect_uri="https://rp/cb", code_verifier="v"
        )
