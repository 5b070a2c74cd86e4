"""Call a claims source at issuance (reference platform §6.3, §6.4) through the guarded outbound HTTP port.

The call carries exactly the source's declared parameters (GET: the query string; POST: a JSON object body) and
its authorization: ``x-api-key``, or an OAuth 2.0 access token obtained by client credentials (RFC 6749 §4.4),
sent as ``Authorization: <token_type> <access_token>``. The answer must be a 2xx JSON object.

Failures never raise: a timeout (the whole step, token included, is bounded by ``timeout``), a network error, a
blocked target, a non-2xx answer, a body that is not a JSON object, or a token that cannot be obtained give an
answer with ``failure`` set and no claims; the pipeline decides what that means (§6.4: carry on without them,
unless the source is ``strict``).

Access tokens are cached per process and source until shortly before they expire (30 s, or a tenth of their
lifetime when that is shorter; 60 s when the token endpoint gives no ``expires_in``). Concurrent issuances that
find no usable token wait for one request to the token endpoint instead of each making their own. A 401 from the
source with a cached token refetches the token once and repeats the call once. A changed source (its
``updated_at``) starts with no token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from openissuer.claims.request_parameters import (
    RequestParameters,
    parse_request_parameters,
    resolve_request_parameters,
)
from openissuer.domain.claim_sources import ApiKeyAuthorization, ClaimSource, OAuthClientCredentials, RequestMethod
from openissuer.ports.clock import Clock
from openissuer.ports.http import HttpFetcher, HttpResponse, OutboundRequestError
from openissuer.ports.secrets import SecretBox
from openissuer.protocol.client_authentication import create_basic_authorization
from openissuer.services.claim_sources import claim_source_secret_aad

DEFAULT_TOKEN_LIFETIME = timedelta(seconds=60)
MAX_REFRESH_MARGIN = timedelta(seconds=30)


class ClaimsSourceError(Exception):
    """Why a claims source gave no claims; the message is for the log (never a secret or a claim value)."""


@dataclass(frozen=True)
class ClaimsSourceAnswer:
    """The claims a source returned, or why it returned none (``failure``)."""

    claims: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None


@dataclass(frozen=True)
class _Token:
    authorization: str
    refresh_at: datetime


@dataclass
class _TokenSlot:
    version: datetime
    token: _Token | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ClaimsSourceClient:
    """Ask claims sources for claims; one client per process (it holds the access token cache)."""

    def __init__(self, fetcher: HttpFetcher, box: SecretBox, clock: Clock, *, timeout: float = 3.0) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._fetcher = fetcher
        self._box = box
        self._clock = clock
        self._timeout = timeout
        self._tokens: dict[tuple[str, str], _TokenSlot] = {}
        self._parameters: dict[tuple[str, datetime], RequestParameters] = {}

    async def fetch(self, source: ClaimSource, context: Mapping[str, Any]) -> ClaimsSourceAnswer:
        """Call ``source`` with its parameters resolved against ``context`` (``{claims, credentialConfiguration}``)
        and return its claims, or the failure; never raises for anything the source or the network does."""
        parameters = resolve_request_parameters(self._parsed(source), context)
        deadline = time.monotonic() + self._timeout
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._call_with_authorization(source, parameters, deadline)
        except TimeoutError:
            return ClaimsSourceAnswer(failure=f"no answer within {self._timeout} s")
        except OutboundRequestError as exc:
            return ClaimsSourceAnswer(failure=exc.detail or exc.description)
        except ClaimsSourceError as exc:
            return ClaimsSourceAnswer(failure=str(exc))
        return _read_claims(response)

    async def _call_with_authorization(
        self, source: ClaimSource, parameters: dict[str, Any], deadline: float
    ) -> HttpResponse:
        auth = source.authorization
        if isinstance(auth, ApiKeyAuthorization):
            return await self._call(source, parameters, {"x-api-key": self._secret(source)}, deadline)
        token = await self._token(source, auth, deadline)
        response = await self._call(source, parameters, {"Authorization": token}, deadline)
        if response.status == 401:  # the source no longer accepts the cached token: one fresh token, one retry
            token = await self._token(source, auth, deadline, stale=token)
            response = await self._call(source, parameters, {"Authorization": token}, deadline)
        return response

    async def _call(
        self, source: ClaimSource, parameters: dict[str, Any], headers: dict[str, str], deadline: float
    ) -> HttpResponse:
        headers = {"Accept": "application/json", **headers}
        remaining = _remaining(deadline)
        if source.request_method is RequestMethod.POST:
            return await self._fetcher.request("POST", source.url, headers=headers, json=parameters, timeout=remaining)
        url = (
            f"{source.url}?{urlencode({k: _query_value(v) for k, v in parameters.items()})}"
            if parameters
            else source.url
        )
        return await self._fetcher.request("GET", url, headers=headers, timeout=remaining)

    async def _token(
        self, source: ClaimSource, auth: OAuthClientCredentials, deadline: float, *, stale: str | None = None
    ) -> str:
        """Return a usable ``Authorization`` value, fetching a token when none is cached (one fetch at a time)."""
        key = (source.tenant_id, source.id)
        slot = self._tokens.get(key)
        if slot is None or slot.version != source.updated_at:
            slot = self._tokens[key] = _TokenSlot(source.updated_at)
        cached = self._usable(slot, stale)
        if cached is not None:
            return cached
        async with slot.lock:
            cached = self._usable(slot, stale)  # fetched by another issuance while this one waited
            if cached is not None:
                return cached
            slot.token = await self._fetch_token(source, auth, deadline)
            return slot.token.authorization

    def _usable(self, slot: _TokenSlot, stale: str | None) -> str | None:
        token = slot.token
        if token is None or token.authorization == stale or self._clock.now() >= token.refresh_at:
            return None
        return token.authorization

    async def _fetch_token(self, source: ClaimSource, auth: OAuthClientCredentials, deadline: float) -> _Token:
        """RFC 6749 §4.4.2 with the configured client authentication (§2.3.1)."""
        form = {"grant_type": "client_credentials"}
        if auth.audience:
            form["audience"] = auth.audience
        headers = {"Accept": "application/json"}
        secret = self._secret(source)
        if auth.token_endpoint_auth_method == "client_secret_post":
            form.update(client_id=auth.client_id, client_secret=secret)
        else:
            headers["Authorization"] = create_basic_authorization(auth.client_id, secret)
        response = await self._fetcher.request(
            "POST", auth.token_endpoint, headers=headers, data=form, timeout=_remaining(deadline)
        )
        if response.status != 200:
            raise ClaimsSourceError(f"the token endpoint answered {response.status}")
        try:
            body = response.json()
        except (ValueError, RecursionError):
            raise ClaimsSourceError("the token endpoint answered something that is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
            raise ClaimsSourceError("the token endpoint answered no access_token")
        token_type = body.get("token_type", "Bearer")
        if not isinstance(token_type, str) or not token_type:
            raise ClaimsSourceError("the token endpoint answered a malformed token_type")
        if token_type.lower() == "bearer":
            token_type = "Bearer"
        return _Token(f"{token_type} {body['access_token']}", self._refresh_at(body.get("expires_in")))

    def _refresh_at(self, expires_in: object) -> datetime:
        lifetime = DEFAULT_TOKEN_LIFETIME
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
            lifetime = timedelta(seconds=expires_in)
        return self._clock.now() + lifetime - min(MAX_REFRESH_MARGIN, lifetime / 10)

    def _secret(self, source: ClaimSource) -> str:
        auth = source.authorization
        sealed = auth.sealed_value if isinstance(auth, ApiKeyAuthorization) else auth.sealed_client_secret
        try:
            return self._box.open(sealed, aad=claim_source_secret_aad(source.id)).decode()
        except ValueError:  # sealed under another master key, or altered in the database
            raise ClaimsSourceError("the source's secret cannot be opened with this master key") from None

    def _parsed(self, source: ClaimSource) -> RequestParameters:
        key = (source.id, source.updated_at)
        parsed = self._parameters.get(key)
        if parsed is None:
            if len(self._parameters) > 1000:
                self._parameters.clear()
            parsed = self._parameters[key] = parse_request_parameters(source.request_parameters)
        return parsed


def _read_claims(response: HttpResponse) -> ClaimsSourceAnswer:
    """§6.3: "2xx on success; application/json object whose keys are claim names"."""
    if not 200 <= response.status < 300:
        return ClaimsSourceAnswer(failure=f"the claims source answered {response.status}")
    try:
        body = response.json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser goes
        return ClaimsSourceAnswer(failure="the claims source answered something that is not JSON")
    if not isinstance(body, dict):
        return ClaimsSourceAnswer(failure="the claims source answered JSON that is not an object")
    return ClaimsSourceAnswer(claims=body)


def _query_value(value: Any) -> str:
    """A parameter as query-string text: strings as they are, other JSON values as JSON (``true``, ``42``)."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _remaining(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)
