"""SQL repositories of the Authorization Code flow: providers, wallet clients and the flow's short-lived state."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from openissuer.adapters.sql.config_version import bump_config_version
from openissuer.adapters.sql.rows import as_utc, insert_unless_taken, page_query, split_page, to_db_time
from openissuer.adapters.sql.tables import (
    authentication_providers,
    authorization_codes,
    authorization_offers,
    authorization_sessions,
    pushed_requests,
    wallet_clients,
)
from openissuer.domain.authorization import (
    AuthenticationProvider,
    AuthorizationCode,
    AuthorizationOffer,
    AuthorizationRequest,
    AuthorizationSession,
    PushedRequest,
    WalletClient,
)
from openissuer.domain.pages import Page, PageKey
from openissuer.errors import ConflictError, ErrorDetail


def _provider_body(p: AuthenticationProvider) -> dict[str, Any]:
    return {
        "url": p.url,
        "scope": list(p.scope),
        "clientId": p.client_id,
        "secretHint": p.secret_hint,
        "tokenEndpointAuthMethod": p.token_endpoint_auth_method,
        "staticRequestParameters": p.static_request_parameters,
        "forwardedRequestParameters": list(p.forwarded_request_parameters),
        "claimsToPersist": list(p.claims_to_persist),
    }


def _provider_from_row(row: Any) -> AuthenticationProvider:
    body = row.body
    return AuthenticationProvider(
        id=row.id,
        tenant_id=row.tenant_id,
        url=body["url"],
        scope=tuple(body["scope"]),
        client_id=body["clientId"],
        sealed_client_secret=bytes(row.sealed_client_secret),
        secret_hint=body["secretHint"],
        token_endpoint_auth_method=body["tokenEndpointAuthMethod"],
        static_request_parameters=body["staticRequestParameters"],
        forwarded_request_parameters=tuple(body["forwardedRequestParameters"]),
        claims_to_persist=tuple(body["claimsToPersist"]),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


class SqlAuthenticationProviderRepository:
    """Authentication providers in SQL (one per tenant, enforced by a unique key)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, provider: AuthenticationProvider) -> None:
        """Insert the provider; a second one for the tenant is a ConflictError (see ``insert_unless_taken``)."""
        values = {
            "id": provider.id,
            "tenant_id": provider.tenant_id,
            "body": _provider_body(provider),
            "sealed_client_secret": provider.sealed_client_secret,
            "created_at": to_db_time(provider.created_at),
            "updated_at": to_db_time(provider.updated_at),
        }
        if not await insert_unless_taken(self._conn, authentication_providers, values):
            raise ConflictError(
                "The tenant already has an authentication provider",
                details=[ErrorDetail("body", "", "only one authentication provider per tenant")],
            )
        await bump_config_version(self._conn, provider.tenant_id)

    async def get(self, tenant_id: str, id: str) -> AuthenticationProvider | None:
        """Return the provider by id."""
        t = authentication_providers
        row = (await self._conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.id == id))).first()
        return None if row is None else _provider_from_row(row)

    async def get_for_tenant(self, tenant_id: str) -> AuthenticationProvider | None:
        """Return the tenant's provider."""
        t = authentication_providers
        row = (await self._conn.execute(select(t).where(t.c.tenant_id == tenant_id))).first()
        return None if row is None else _provider_from_row(row)

    async def update(self, provider: AuthenticationProvider) -> bool:
        """Replace the provider's fields."""
        t = authentication_providers
        query = (
            update(t)
            .where(t.c.tenant_id == provider.tenant_id, t.c.id == provider.id)
            .values(
                body=_provider_body(provider),
                sealed_client_secret=provider.sealed_client_secret,
                updated_at=to_db_time(provider.updated_at),
            )
        )
        if not (await self._conn.execute(query)).rowcount:
            return False
        await bump_config_version(self._conn, provider.tenant_id)
        return True

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the provider."""
        t = authentication_providers
        if not (await self._conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.id == id))).rowcount:
            return False
        await bump_config_version(self._conn, tenant_id)
        return True


def _client_from_row(row: Any) -> WalletClient:
    body = row.body
    return WalletClient(
        id=row.id,
        tenant_id=row.tenant_id,
        client_id=row.client_id,
        client_name=body.get("clientName"),
        redirect_uris=tuple(body["redirectUris"]),
        grant_types=tuple(body["grantTypes"]),
        token_endpoint_auth_method=body["tokenEndpointAuthMethod"],
        created_at=as_utc(row.created_at),
        attestation_roots=tuple(base64.b64decode(c) for c in body.get("attestationRoots", ())),
        dpop_required=bool(body.get("dpopRequired")),
    )


def _client_body(c: WalletClient) -> dict[str, Any]:
    return {
        "clientName": c.client_name,
        "redirectUris": list(c.redirect_uris),
        "grantTypes": list(c.grant_types),
        "tokenEndpointAuthMethod": c.token_endpoint_auth_method,
        "attestationRoots": [base64.b64encode(c).decode() for c in c.attestation_roots],
        "dpopRequired": c.dpop_required,
    }


class SqlWalletClientRepository:
    """Wallet (OAuth) clients in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, client: WalletClient) -> None:
        """Insert a client; a taken client_id is a ConflictError (see ``insert_unless_taken``)."""
        values = {
            "id": client.id,
            "tenant_id": client.tenant_id,
            "client_id": client.client_id,
            "body": _client_body(client),
            "created_at": to_db_time(client.created_at),
        }
        if not await insert_unless_taken(self._conn, wallet_clients, values):
            raise ConflictError(
                "A client with this clientId already exists",
                details=[ErrorDetail("body", "clientId", "already exists", client.client_id)],
            )

    async def get(self, tenant_id: str, id: str) -> WalletClient | None:
        """Return the client by id."""
        t = wallet_clients
        row = (await self._conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.id == id))).first()
        return None if row is None else _client_from_row(row)

    async def get_by_client_id(self, tenant_id: str, client_id: str) -> WalletClient | None:
        """Return the client by OAuth client_id."""
        t = wallet_clients
        query = select(t).where(t.c.tenant_id == tenant_id, t.c.client_id == client_id)
        row = (await self._conn.execute(query)).first()
        return None if row is None else _client_from_row(row)

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[WalletClient]:
        """Return one page of clients."""
        t = wallet_clients
        query = page_query(select(t).where(t.c.tenant_id == tenant_id), t, limit=limit, after=after)
        rows, next_key = split_page((await self._conn.execute(query)).all(), limit)
        return Page(items=[_client_from_row(row) for row in rows], next_key=next_key)

    async def update(self, client: WalletClient) -> bool:
        """Replace a client's fields."""
        t = wallet_clients
        query = (
            update(t).where(t.c.tenant_id == client.tenant_id, t.c.id == client.id).values(body=_client_body(client))
        )
        return bool((await self._conn.execute(query)).rowcount)

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a client."""
        t = wallet_clients
        return bool((await self._conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.id == id))).rowcount)


def authorization_request_body(r: AuthorizationRequest) -> dict[str, Any]:
    return {
        "clientId": r.client_id,
        "redirectUri": r.redirect_uri,
        "state": r.state,
        "codeChallenge": r.code_challenge,
        "configurationIds": list(r.configuration_ids),
        "byAuthorizationDetails": r.by_authorization_details,
        "issuerState": r.issuer_state,
        "forwardedParameters": r.forwarded_parameters,
        "scope": r.scope,
        "responseMode": r.response_mode,
        "dpopJkt": r.dpop_jkt,
    }


def authorization_request_from_body(body: dict[str, Any]) -> AuthorizationRequest:
    return AuthorizationRequest(
        client_id=body["clientId"],
        redirect_uri=body["redirectUri"],
        state=body["state"],
        code_challenge=body["codeChallenge"],
        configuration_ids=tuple(body["configurationIds"]),
        by_authorization_details=bool(body["byAuthorizationDetails"]),
        issuer_state=body["issuerState"],
        forwarded_parameters=dict(body["forwardedParameters"]),
        scope=body.get("scope"),
        response_mode=body.get("responseMode", "query"),
        dpop_jkt=body.get("dpopJkt"),
    )


# The provider a session was started with rides in its ``request`` JSON, next to the wallet's request (no column of
# its own: a session lives minutes, and nothing queries by it).
_PROVIDER_ID = "providerId"
_PROVIDER_URL = "providerUrl"


def _session_request_body(session: AuthorizationSession) -> dict[str, Any]:
    return {
        **authorization_request_body(session.request),
        _PROVIDER_ID: session.provider_id,
        _PROVIDER_URL: session.provider_url,
    }


def _code_from_row(row: Any) -> AuthorizationCode:
    body = row.body
    return AuthorizationCode(
        code_hash=bytes(row.code_hash),
        tenant_id=row.tenant_id,
        session_id=row.session_id,
        client_id=body["clientId"],
        redirect_uri=body["redirectUri"],
        code_challenge=body["codeChallenge"],
        configuration_ids=tuple(body["configurationIds"]),
        by_authorization_details=bool(body["byAuthorizationDetails"]),
        user_id=body["userId"],
        claims=body["claims"],
        provider_url=body["providerUrl"],
        subject_id=body["subjectId"],
        expires_at=as_utc(row.expires_at),
        created_at=as_utc(row.created_at),
        consumed_at=None if row.consumed_at is None else as_utc(row.consumed_at),
        scope=body.get("scope"),
        dpop_jkt=body.get("dpopJkt"),
    )


class SqlAuthorizationFlowRepository:
    """Offers, pushed requests, sessions and codes of the Authorization Code flow in SQL."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add_offer(self, offer: AuthorizationOffer) -> None:
        """Insert a reusable offer."""
        await self._conn.execute(
            insert(authorization_offers).values(
                id=offer.id,
                tenant_id=offer.tenant_id,
                issuer_state=offer.issuer_state,
                credential_configuration_ids=list(offer.configuration_ids),
                request_parameters=offer.request_parameters,
                created_at=to_db_time(offer.created_at),
            )
        )

    async def find_offer(self, tenant_id: str, issuer_state: str) -> AuthorizationOffer | None:
        """Return the offer of an ``issuer_state``."""
        t = authorization_offers
        query = select(t).where(t.c.tenant_id == tenant_id, t.c.issuer_state == issuer_state)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return AuthorizationOffer(
            id=row.id,
            tenant_id=row.tenant_id,
            configuration_ids=tuple(row.credential_configuration_ids),
            request_parameters=row.request_parameters,
            issuer_state=row.issuer_state,
            created_at=as_utc(row.created_at),
        )

    async def add_pushed_request(self, request: PushedRequest) -> None:
        """Insert a pushed request."""
        await self._conn.execute(
            insert(pushed_requests).values(
                request_uri_hash=request.request_uri_hash,
                tenant_id=request.tenant_id,
                client_id=request.client_id,
                parameters=request.parameters,
                expires_at=to_db_time(request.expires_at),
                created_at=to_db_time(request.created_at),
            )
        )

    async def take_pushed_request(self, tenant_id: str, request_uri_hash: bytes, now: datetime) -> PushedRequest | None:
        """Use up an unused, unexpired pushed request."""
        t = pushed_requests
        query = (
            update(t)
            .where(
                t.c.request_uri_hash == request_uri_hash,
                t.c.tenant_id == tenant_id,
                t.c.consumed_at.is_(None),
                t.c.expires_at > to_db_time(now),
            )
            .values(consumed_at=to_db_time(now))
            .returning(t.c.client_id, t.c.parameters, t.c.expires_at, t.c.created_at)
        )
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return PushedRequest(
            request_uri_hash=request_uri_hash,
            tenant_id=tenant_id,
            client_id=row.client_id,
            parameters=dict(row.parameters),
            expires_at=as_utc(row.expires_at),
            created_at=as_utc(row.created_at),
        )

    async def add_session(self, session: AuthorizationSession) -> None:
        """Insert a sign-in session."""
        await self._conn.execute(
            insert(authorization_sessions).values(
                id=session.id,
                tenant_id=session.tenant_id,
                idp_state_hash=session.idp_state_hash,
                request=_session_request_body(session),
                idp_nonce=session.idp_nonce,
                idp_code_verifier=session.idp_code_verifier,
                expires_at=to_db_time(session.expires_at),
                created_at=to_db_time(session.created_at),
            )
        )

    async def find_session(self, tenant_id: str, idp_state_hash: bytes) -> AuthorizationSession | None:
        """Return the session of an identity-provider ``state``."""
        t = authorization_sessions
        query = select(t).where(t.c.tenant_id == tenant_id, t.c.idp_state_hash == idp_state_hash)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return AuthorizationSession(
            id=row.id,
            tenant_id=row.tenant_id,
            request=authorization_request_from_body(row.request),
            idp_state_hash=bytes(row.idp_state_hash),
            idp_nonce=row.idp_nonce,
            idp_code_verifier=row.idp_code_verifier,
            expires_at=as_utc(row.expires_at),
            created_at=as_utc(row.created_at),
            completed_at=None if row.completed_at is None else as_utc(row.completed_at),
            provider_id=row.request.get(_PROVIDER_ID),
            provider_url=row.request.get(_PROVIDER_URL),
        )

    async def complete_session(self, tenant_id: str, id: str, now: datetime) -> bool:
        """Complete an open, unexpired session."""
        t = authorization_sessions
        query = (
            update(t)
            .where(
                t.c.tenant_id == tenant_id,
                t.c.id == id,
                t.c.completed_at.is_(None),
                t.c.expires_at > to_db_time(now),
            )
            .values(completed_at=to_db_time(now))
            .returning(t.c.id)
        )
        return (await self._conn.execute(query)).first() is not None

    async def add_code(self, code: AuthorizationCode) -> None:
        """Insert an authorization code."""
        body = {
            "clientId": code.client_id,
            "redirectUri": code.redirect_uri,
            "codeChallenge": code.code_challenge,
            "configurationIds": list(code.configuration_ids),
            "byAuthorizationDetails": code.by_authorization_details,
            "userId": code.user_id,
            "claims": code.claims,
            "providerUrl": code.provider_url,
            "subjectId": code.subject_id,
            "scope": code.scope,
            "dpopJkt": code.dpop_jkt,
        }
        await self._conn.execute(
            insert(authorization_codes).values(
                code_hash=code.code_hash,
                tenant_id=code.tenant_id,
                session_id=code.session_id,
                body=body,
                expires_at=to_db_time(code.expires_at),
                created_at=to_db_time(code.created_at),
            )
        )

    async def find_code(self, code_hash: bytes) -> AuthorizationCode | None:
        """Return the code."""
        t = authorization_codes
        row = (await self._conn.execute(select(t).where(t.c.code_hash == code_hash))).first()
        return None if row is None else _code_from_row(row)

    async def consume_code(self, code_hash: bytes, now: datetime) -> bool:
        """Use the code up if unused."""
        t = authorization_codes
        query = (
            update(t)
            .where(t.c.code_hash == code_hash, t.c.consumed_at.is_(None))
            .values(consumed_at=to_db_time(now))
            .returning(t.c.code_hash)
        )
        return (await self._conn.execute(query)).first() is not None

    async def prune_pushed_requests(self, now: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` used or expired pushed requests."""
        t = pushed_requests
        condition = or_(t.c.consumed_at.is_not(None), t.c.expires_at <= to_db_time(now))
        done = select(t.c.request_uri_hash).where(condition).limit(limit)
        return int((await self._conn.execute(delete(t).where(t.c.request_uri_hash.in_(done)))).rowcount or 0)

    async def prune_sessions(self, now: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` expired sign-in sessions."""
        t = authorization_sessions
        expired = select(t.c.id).where(t.c.expires_at <= to_db_time(now)).limit(limit)
        return int((await self._conn.execute(delete(t).where(t.c.id.in_(expired)))).rowcount or 0)

    async def prune_codes(self, expired_before: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` codes that expired before ``expired_before``."""
        t = authorization_codes
        old = select(t.c.code_hash).where(t.c.expires_at < to_db_time(expired_before)).limit(limit)
        return int((await self._conn.execute(delete(t).where(t.c.code_hash.in_(old)))).rowcount or 0)
