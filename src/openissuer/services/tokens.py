"""The token endpoint's pre-authorized_code grant (OID4VCI 1.0 §6, DESIGN.md §3 pinned behaviours).

A code is exchanged once: the redemption and the new access grant commit in one transaction, guarded by a
conditional UPDATE, so of any number of concurrent requests (in any number of processes) exactly one wins.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from openissuer.domain.offers import AccessGrant, PreAuthorizedOffer
from openissuer.errors import (
    InvalidAuthorizationDetailsError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
)
from openissuer.ports.clock import Clock
from openissuer.ports.secrets import SecretBox
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.protocol.pkce import verify_code_verifier
from openissuer.protocol.token_request import (
    AuthorizationCodeRequest,
    PreAuthorizedCodeRequest,
    TokenRequest,
    create_token_response,
)
from openissuer.services.offers import tx_code_digest
from openissuer.services.wallet_secrets import digest_secret, new_secret

log = logging.getLogger("openissuer.tokens")


class TokenService:
    """Exchange pre-authorized codes for short-lived access tokens bound to the offer."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        box: SecretBox,
        *,
        access_token_ttl: timedelta,
        max_tx_code_attempts: int,
        allow_unregistered_public_clients: bool = False,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._box = box
        self._ttl = access_token_ttl
        self._max_attempts = max_tx_code_attempts
        self._allow_unregistered = allow_unregistered_public_clients

    async def exchange(self, request: TokenRequest, tenant_id: str) -> dict[str, Any]:
        """Answer a token request of either grant."""
        if isinstance(request, AuthorizationCodeRequest):
            return await self.exchange_authorization_code(request, tenant_id)
        return await self.exchange_pre_authorized_code(request, tenant_id)

    async def exchange_pre_authorized_code(self, request: PreAuthorizedCodeRequest, tenant_id: str) -> dict[str, Any]:
        """Return the token response, or raise ``invalid_grant`` / ``invalid_request`` per OID4VCI §6.3."""
        now = self._clock.now()
        code_hash = digest_secret(request.pre_authorized_code)
        if request.tx_code is None:
            # The common case, in one transaction: redeem by code (one conditional UPDATE) and add the grant.
            async with self._uow() as uow:
                offer = await uow.offers.redeem_by_code(tenant_id, code_hash, now)
                if offer is not None:
                    return await self._grant(uow, offer, request, now)
        # Otherwise read, check (transaction code, why the code does not redeem), then redeem by id.
        async with self._uow(read_only=True) as uow:
            offer = await uow.offers.find_by_code_hash(tenant_id, code_hash)
        if offer is None or not offer.is_redeemable(now):
            raise InvalidGrantError(
                "The pre-authorized code is invalid, expired or already used", detail=_why_not(offer, now)
            )
        await self._check_tx_code(offer, request.tx_code)
        async with self._uow() as uow:
            if not await uow.offers.redeem(tenant_id, offer.id, now):
                raise InvalidGrantError(
                    "The pre-authorized code is invalid, expired or already used",
                    detail=f"offer {offer.id} was redeemed, revoked or locked meanwhile",
                )
            return await self._grant(uow, offer, request, now)

    async def _grant(
        self, uow: UnitOfWork, offer: PreAuthorizedOffer, request: PreAuthorizedCodeRequest, now: datetime
    ) -> dict[str, Any]:
        """Add the access grant of a redeemed offer and commit (an invalid request rolls the redemption back)."""
        identifiers = _credential_identifiers(offer, request.authorization_details)
        token = new_secret()
        await uow.access_grants.add(
            AccessGrant(
                token_hash=digest_secret(token),
                tenant_id=offer.tenant_id,
                offer_id=offer.id,
                claims=offer.claims,
                user_id=offer.user_id,
                credential_configuration_ids=offer.credential_configuration_ids,
                credential_identifiers=identifiers or {},
                notification_id=new_secret(),
                expires_at=now + self._ttl,
                created_at=now,
            )
        )
        await uow.commit()
        log.info("pre-authorized code redeemed", extra={"offer_id": offer.id})
        return create_token_response(token, int(self._ttl.total_seconds()), identifiers)

    async def exchange_authorization_code(self, request: AuthorizationCodeRequest, tenant_id: str) -> dict[str, Any]:
        """RFC 6749 §4.1.3 with PKCE: the code is used up by its first presentation; a replay revokes its tokens.

        RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization server MUST deny the
        request and SHOULD revoke (when possible) all tokens previously issued based on that authorization code."
        """
        code_hash, now = digest_secret(request.code), self._clock.now()
        async with self._uow() as uow:
            client = await uow.wallet_clients.get_by_client_id(tenant_id, request.client_id)
            if client is None and not self._allow_unregistered:
                raise InvalidClientError("Unknown client_id")
            code = await uow.authorization.find_code(code_hash)
            if code is None or code.tenant_id != tenant_id:
                raise InvalidGrantError("The authorization code is invalid")
            if not await uow.authorization.consume_code(code_hash, now):
                revoked = await uow.access_grants.revoke_for_code(code_hash, now)
                await uow.commit()
                raise InvalidGrantError(
                    "The authorization code was already used", detail=f"replayed code: {revoked} tokens revoked"
                )
            await uow.commit()
        if now >= code.expires_at:
            raise InvalidGrantError("The authorization code has expired")
        if code.client_id != request.client_id or code.redirect_uri != request.redirect_uri:
            raise InvalidGrantError("The authorization code was issued to another client or redirect_uri")
        verify_code_verifier(request.code_verifier, code.code_challenge)
        identifiers = (
            {secrets.token_urlsafe(16): cid for cid in code.configuration_ids}
            if code.by_authorization_details
            else None
        )
        token = new_secret()
        async with self._uow() as uow:
            await uow.access_grants.add(
                AccessGrant(
                    token_hash=digest_secret(token),
                    tenant_id=tenant_id,
                    user_id=code.user_id,
                    credential_configuration_ids=code.configuration_ids,
                    credential_identifiers=identifiers or {},
                    notification_id=new_secret(),
                    claims=code.claims,
                    expires_at=now + self._ttl,
                    created_at=now,
                    authorization_code_hash=code_hash,
                    provider_url=code.provider_url,
                    subject_id=code.subject_id,
                )
            )
            await uow.commit()
        return create_token_response(token, int(self._ttl.total_seconds()), identifiers)

    async def _check_tx_code(self, offer: PreAuthorizedOffer, tx_code: str | None) -> None:
        """§6.1: tx_code "MUST be present if tx_code was in the offer"; wrong codes count toward the lock."""
        if offer.tx_code_hash is None:
            if tx_code is not None:
                raise InvalidRequestError("This offer needs no tx_code")
            return
        if tx_code is None:
            raise InvalidRequestError("tx_code is required for this offer")  # counts as no attempt
        if hmac.compare_digest(tx_code_digest(self._box, offer.id, tx_code), offer.tx_code_hash):
            return
        async with self._uow() as uow:
            attempts = await uow.offers.record_failed_tx_code(offer.tenant_id, offer.id, self._max_attempts)
            await uow.commit()
        raise InvalidGrantError("The transaction code is wrong", detail=f"offer {offer.id}: {attempts} wrong codes")


def _credential_identifiers(offer: PreAuthorizedOffer, requested: tuple[str, ...] | None) -> dict[str, str] | None:
    """Return one new identifier per requested configuration, which must all be in the offer (RFC 9396)."""
    if requested is None:
        return None
    unknown = [cid for cid in requested if cid not in offer.credential_configuration_ids]
    if unknown:
        raise InvalidAuthorizationDetailsError("authorization_details names a configuration the offer does not hold")
    return {secrets.token_urlsafe(16): cid for cid in requested}


def _why_not(offer: PreAuthorizedOffer | None, now: Any) -> str:
    if offer is None:
        return "unknown code"
    if offer.redeemed_at is not None:
        return f"offer {offer.id} already redeemed"
    if offer.revoked_at is not None:
        return f"offer {offer.id} revoked"
    if offer.locked:
        return f"offer {offer.id} locked after wrong transaction codes"
    return f"offer {offer.id} expired"
