"""The client side of OpenID Connect towards the tenant's identity provider: discovery, token exchange and ID
token validation, all through the guarded outbound HTTP port.

Discovery documents and key sets are cached per provider; an ID token naming an unknown ``kid`` refreshes the key
set at most once per cool-down (the provider may have rotated keys; an attacker must not make us hammer it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from openissuer.crypto.jwks import UnknownKeyError, verify_jwt_with_jwks
from openissuer.crypto.jws import JwsError
from openissuer.domain.authorization import AuthenticationProvider
from openissuer.errors import IdentityProviderError
from openissuer.ports.clock import Clock
from openissuer.ports.http import HttpFetcher, OutboundRequestError
from openissuer.protocol.client_authentication import create_basic_authorization
from openissuer.protocol.id_token import IdTokenError, verify_id_token_claims

log = logging.getLogger("openissuer.upstream_oidc")
T = TypeVar("T")


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of an OpenID provider's discovery document openissuer uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass
class _Cached(Generic[T]):
    value: T
    fetched_at: datetime


class UpstreamOidcClient:
    """Talk to identity providers as an OpenID Connect relying party."""

    def __init__(
        self,
        fetcher: HttpFetcher,
        clock: Clock,
        *,
        cache_ttl: timedelta = timedelta(hours=1),
        jwks_cooldown: timedelta = timedelta(seconds=60),
    ) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._ttl = cache_ttl
        self._cooldown = jwks_cooldown
        self._discovery: dict[str, _Cached[ProviderMetadata]] = {}
        self._jwks: dict[str, _Cached[dict[str, Any]]] = {}

    async def metadata(self, provider_url: str) -> ProviderMetadata:
        """Return the provider's discovery document (OpenID Connect Discovery 1.0 §4), cached."""
        cached = self._discovery.get(provider_url)
        if cached is not None and self._clock.now() - cached.fetched_at < self._ttl:
            return cached.value
        document = await self._get_json(f"{provider_url.rstrip('/')}/.well-known/openid-configuration", "discovery")
        try:
            metadata = ProviderMetadata(
                issuer=str(document["issuer"]),
                authorization_endpoint=str(document["authorization_endpoint"]),
                token_endpoint=str(document["token_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
            )
        except KeyError as exc:
            raise IdentityProviderError("The identity provider's discovery document is incomplete") from exc
        # Discovery §4.3: the issuer "MUST be identical to the Issuer URL that was directly used to retrieve".
        if metadata.issuer.rstrip("/") != provider_url.rstrip("/"):
            raise IdentityProviderError(
                "The identity provider's discovery document names another issuer",
                detail=f"expected {provider_url}, got {metadata.issuer}",
            )
        self._discovery[provider_url] = _Cached(metadata, self._clock.now())
        return metadata

    async def exchange_code(
        self, provider: AuthenticationProvider, client_secret: str, *, code: str, redirect_uri: str, code_verifier: str
    ) -> dict[str, Any]:
        """Exchange the provider's authorization code at its token endpoint with the configured client auth."""
        metadata = await self.metadata(provider.url)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Accept": "application/json"}
        if provider.token_endpoint_auth_method == "client_secret_post":
            form.update(client_id=provider.client_id, client_secret=client_secret)
        else:
            headers["Authorization"] = create_basic_authorization(provider.client_id, client_secret)
        try:
            response = await self._fetcher.request("POST", metadata.token_endpoint, headers=headers, data=form)
        except OutboundRequestError as exc:
            raise IdentityProviderError("The identity provider could not be reached", detail=str(exc)) from exc
        if response.status != 200:
            raise IdentityProviderError(
                "The identity provider refused the sign-in", detail=f"token endpoint answered {response.status}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise IdentityProviderError("The identity provider answered something unreadable") from exc
        if not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            raise IdentityProviderError("The identity provider returned no ID token")
        return body

    async def verify_id_token(
        self, provider: AuthenticationProvider, id_token: str, *, nonce: str
    ) -> tuple[str, dict[str, Any]]:
        """Return ``(sub, claims)`` of an ID token whose signature, iss, aud, exp, iat and nonce are right."""
        metadata = await self.metadata(provider.url)
        claims = await self._verified_claims(metadata, id_token)
        try:
            subject = verify_id_token_claims(
                claims, issuer=metadata.issuer, client_id=provider.client_id, nonce=nonce, now=self._clock.now()
            )
        except IdTokenError as exc:
            raise IdentityProviderError("The identity provider's ID token is not acceptable", detail=str(exc)) from exc
        return subject, claims

    async def _verified_claims(self, metadata: ProviderMetadata, id_token: str) -> dict[str, Any]:
        for attempt in range(2):
            jwks = await self._key_set(metadata.jwks_uri, refresh=attempt == 1)
            try:
                return verify_jwt_with_jwks(id_token, jwks)
            except UnknownKeyError as exc:
                if attempt == 1 or not self._may_refresh(metadata.jwks_uri):
                    raise IdentityProviderError("The ID token is signed with an unknown key") from exc
            except JwsError as exc:
                raise IdentityProviderError("The ID token's signature does not verify", detail=str(exc)) from exc
        raise AssertionError("unreachable")

    def _may_refresh(self, jwks_uri: str) -> bool:
        cached = self._jwks.get(jwks_uri)
        return cached is None or self._clock.now() - cached.fetched_at >= self._cooldown

    async def _key_set(self, jwks_uri: str, *, refresh: bool) -> dict[str, Any]:
        cached = self._jwks.get(jwks_uri)
        fresh = cached is not None and self._clock.now() - cached.fetched_at < self._ttl
        if cached is not None and fresh and not refresh:
            return cached.value
        jwks = await self._get_json(jwks_uri, "key set")
        if not isinstance(jwks.get("keys"), list):
            raise IdentityProviderError("The identity provider's key set is malformed")
        self._jwks[jwks_uri] = _Cached(jwks, self._clock.now())
        return jwks

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = await self._fetcher.request("GET", url, headers={"Accept": "application/json"})
        except OutboundRequestError as exc:
            raise IdentityProviderError("The identity provider could not be reached", detail=f"{what}: {exc}") from exc
        if response.status != 200:
            raise IdentityProviderError(
                "The identity provider is not available", detail=f"{what} answered {response.status}"
            )
        try:
            document = response.json()
        except ValueError as exc:
            raise IdentityProviderError("The identity provider answered something unreadable") from exc
        if not isinstance(document, dict):
            raise IdentityProviderError("The identity provider answered something unreadable")
        return document
