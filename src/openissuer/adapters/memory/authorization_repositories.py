"""In-memory repositories of the Authorization Code flow; same contract as the SQL ones."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from openissuer.adapters.memory.paging import page_of
from openissuer.adapters.memory.store import MemoryState
from openissuer.domain.authorization import (
    AuthenticationProvider,
    AuthorizationCode,
    AuthorizationOffer,
    AuthorizationSession,
    PushedRequest,
    WalletClient,
)
from openissuer.domain.pages import Page, PageKey
from openissuer.errors import ConflictError, ErrorDetail


class InMemoryAuthenticationProviderRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._rows = state.authentication_providers

    async def add(self, provider: AuthenticationProvider) -> None:
        """Store the provider; one per tenant."""
        if await self.get_for_tenant(provider.tenant_id) is not None:
            raise ConflictError(
                "The tenant already has an authentication provider",
                details=[ErrorDetail("body", "", "only one authentication provider per tenant")],
            )
        self._rows[provider.id] = provider
        self._state.bump_config_version(provider.tenant_id)

    async def get(self, tenant_id: str, id: str) -> AuthenticationProvider | None:
        """Return the provider by id."""
        row = self._rows.get(id)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def get_for_tenant(self, tenant_id: str) -> AuthenticationProvider | None:
        """Return the tenant's provider."""
        return next((p for p in self._rows.values() if p.tenant_id == tenant_id), None)

    async def update(self, provider: AuthenticationProvider) -> bool:
        """Replace the provider."""
        if await self.get(provider.tenant_id, provider.id) is None:
            return False
        self._rows[provider.id] = provider
        self._state.bump_config_version(provider.tenant_id)
        return True

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete the provider."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._rows[id]
        self._state.bump_config_version(tenant_id)
        return True


class InMemoryWalletClientRepository:
    def __init__(self, state: MemoryState) -> None:
        self._rows = state.wallet_clients

    async def add(self, client: WalletClient) -> None:
        """Store a client; client ids are unique per tenant."""
        if await self.get_by_client_id(client.tenant_id, client.client_id) is not None:
            raise ConflictError(
                "A client with this clientId already exists",
                details=[ErrorDetail("body", "clientId", "already exists", client.client_id)],
            )
        self._rows[client.id] = client

    async def get(self, tenant_id: str, id: str) -> WalletClient | None:
        """Return the client by id."""
        row = self._rows.get(id)
        return row if row is not None and row.tenant_id == tenant_id else None

    async def get_by_client_id(self, tenant_id: str, client_id: str) -> WalletClient | None:
        """Return the client by OAuth client_id."""
        return next((c for c in self._rows.values() if (c.tenant_id, c.client_id) == (tenant_id, client_id)), None)

    async def list(self, tenant_id: str, *, limit: int, after: PageKey | None) -> Page[WalletClient]:
        """Return one page of clients."""
        rows = (c for c in self._rows.values() if c.tenant_id == tenant_id)
        return page_of(rows, lambda c: (c.created_at, c.id), limit=limit, after=after)

    async def update(self, client: WalletClient) -> bool:
        """Replace a client."""
        if await self.get(client.tenant_id, client.id) is None:
            return False
        self._rows[client.id] = client
        return True

    async def delete(self, tenant_id: str, id: str) -> bool:
        """Delete a client."""
        if await self.get(tenant_id, id) is None:
            return False
        del self._rows[id]
        return True


class InMemoryAuthorizationFlowRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add_offer(self, offer: AuthorizationOffer) -> None:
        """Store an offer."""
        self._state.authorization_offers[offer.issuer_state] = offer

    async def find_offer(self, tenant_id: str, issuer_state: str) -> AuthorizationOffer | None:
        """Return the offer of an ``issuer_state``."""
        offer = self._state.authorization_offers.get(issuer_state)
        return offer if offer is not None and offer.tenant_id == tenant_id else None

    async def add_pushed_request(self, request: PushedRequest) -> None:
        """Store a pushed request."""
        self._state.pushed_requests[request.request_uri_hash] = (request, None)

    async def take_pushed_request(self, tenant_id: str, request_uri_hash: bytes, now: datetime) -> PushedRequest | None:
        """Use up an unused, unexpired pushed request."""
        entry = self._state.pushed_requests.get(request_uri_hash)
        if entry is None:
            return None
        request, consumed_at = entry
        if request.tenant_id != tenant_id or consumed_at is not None or now >= request.expires_at:
            return None
        self._state.pushed_requests[request_uri_hash] = (request, now)
        return request

    async def add_session(self, session: AuthorizationSession) -> None:
        """Store a session."""
        self._state.authorization_sessions[session.idp_state_hash] = session

    async def find_session(self, tenant_id: str, idp_state_hash: bytes) -> AuthorizationSession | None:
        """Return the session of a ``state``."""
        session = self._state.authorization_sessions.get(idp_state_hash)
        return session if session is not None and session.tenant_id == tenant_id else None

    async def complete_session(self, tenant_id: str, id: str, now: datetime) -> bool:
        """Complete an open, unexpired session."""
        for key, session in self._state.authorization_sessions.items():
            if session.id == id and session.tenant_id == tenant_id:
                if session.completed_at is not None or now >= session.expires_at:
                    return False
                self._state.authorization_sessions[key] = dataclasses.replace(session, completed_at=now)
                return True
        return False

    async def add_code(self, code: AuthorizationCode) -> None:
        """Store a code."""
        self._state.authorization_codes[code.code_hash] = code

    async def find_code(self, code_hash: bytes) -> AuthorizationCode | None:
        """Return the code."""
        return self._state.authorization_codes.get(code_hash)

    async def consume_code(self, code_hash: bytes, now: datetime) -> bool:
        """Use the code up if unused."""
        code = self._state.authorization_codes.get(code_hash)
        if code is None or code.consumed_at is not None:
            return False
        self._state.authorization_codes[code_hash] = dataclasses.replace(code, consumed_at=now)
        return True

    async def prune_pushed_requests(self, now: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` used or expired pushed requests."""
        rows = self._state.pushed_requests
        done = [k for k, (r, used) in rows.items() if used is not None or now >= r.expires_at][:limit]
        for key in done:
            del rows[key]
        return len(done)

    async def prune_sessions(self, now: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` expired sign-in sessions."""
        rows = self._state.authorization_sessions
        expired = [k for k, s in rows.items() if now >= s.expires_at][:limit]
        for key in expired:
            del rows[key]
        return len(expired)

    async def prune_codes(self, expired_before: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` codes that expired before ``expired_before``."""
        rows = self._state.authorization_codes
        old = [k for k, c in rows.items() if c.expires_at < expired_before][:limit]
        for key in old:
            del rows[key]
        return len(old)
