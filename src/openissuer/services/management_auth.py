"""Management API authentication: client credentials for a bearer token, and the token's verification.

Tokens are HS256 JWTs under a key derived from the master key, so every process sharing the master key and the
database accepts them; each request also re-reads the client, so deleting a client revokes its tokens at once. A
token names its client's identity (the record's id, ``cid``), not only its public ``client_id``: a client deleted
and created again under the same ``client_id`` (e.g. by the bootstrap settings) is a new identity, and the old
client's tokens stay revoked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from openissuer.crypto.hmac_jwt import HmacJwtCodec, HmacJwtError
from openissuer.crypto.secret_hash import hash_client_secret, verify_client_secret
from openissuer.domain.api_clients import ApiClient, ManagementPrincipal
from openissuer.errors import InvalidClientCredentialsError, UnauthorizedError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory

TOKEN_AUDIENCE = "openissuer-management"
TOKEN_ISSUER = "openissuer"
# Verified against when the client id is unknown, so an unknown id costs as much time as a wrong secret.
_DUMMY_HASH = hash_client_secret("not-a-secret", b"\x00" * 16)


@dataclass(frozen=True)
class ManagementToken:
    """A management access token (RFC 6749 §5.1 shape)."""

    access_token: str
    expires_in: int
    token_type: str = "Bearer"


class ManagementAuthService:
    """Exchange client credentials for tokens and turn tokens back into principals."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, codec: HmacJwtCodec, token_ttl: int) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._codec = codec
        self._ttl = token_ttl

    async def verify_client(self, client_id: str, client_secret: str) -> ApiClient:
        """Return the client these credentials authenticate; else InvalidClientCredentialsError, the same for an
        unknown id as for a wrong secret (and as slow: an unknown id is checked against a dummy hash)."""
        async with self._uow(read_only=True) as uow:
            client = await uow.api_clients.get_by_client_id(client_id)
        matches = verify_client_secret(client_secret, client.secret_hash if client else _DUMMY_HASH)
        if client is None or not matches:
            raise InvalidClientCredentialsError(
                "Client authentication failed", detail=f"client_id={client_id!r} known={client is not None}"
            )
        return client

    async def issue_token(self, client_id: str, client_secret: str) -> ManagementToken:
        """Authenticate the client (RFC 6749 §4.4) and return a bearer token for its tenant and roles."""
        client = await self.verify_client(client_id, client_secret)
        now = int(self._clock.now().timestamp())
        claims = {
            "iss": TOKEN_ISSUER,
            "aud": TOKEN_AUDIENCE,
            "sub": client.client_id,
            "tid": client.tenant_id,
            "cid": client.id,
            "iat": now,
            "exp": now + self._ttl,
            "jti": secrets.token_urlsafe(16),
        }
        return ManagementToken(access_token=self._codec.encode(claims), expires_in=self._ttl)

    async def authenticate(self, bearer: str | None) -> ManagementPrincipal:
        """Return the principal of a valid, unexpired token whose client still exists; else UnauthorizedError."""
        if not bearer:
            raise _unauthorized("Missing bearer token")
        try:
            claims = self._codec.decode(bearer)
        except HmacJwtError as exc:
            raise _unauthorized("Invalid bearer token") from exc
        if claims.get("aud") != TOKEN_AUDIENCE or claims.get("iss") != TOKEN_ISSUER:
            raise _unauthorized("Invalid bearer token")
        exp = claims.get("exp")
        if not isinstance(exp, int) or self._clock.now().timestamp() >= exp:
            raise _unauthorized("Expired bearer token")
        async with self._uow(read_only=True) as uow:
            client = await uow.api_clients.get_by_client_id(str(claims.get("sub")))
        if client is None or client.tenant_id != claims.get("tid") or client.id != claims.get("cid"):
            raise _unauthorized("Invalid bearer token")
        return ManagementPrincipal(
            tenant_id=client.tenant_id, client_id=client.client_id, roles=frozenset(client.roles)
        )


def _unauthorized(message: str) -> UnauthorizedError:
    return UnauthorizedError(message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
