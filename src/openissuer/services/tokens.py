"""The token endpoint (OID4VCI 1.0 §6, RFC 6749 §4.1.3, DESIGN.md §3 pinned behaviours).

A pre-authorized code is exchanged once: the redemption and the new access grant are one conditional statement,
so of any number of concurrent requests (in any number of processes) exactly one wins.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from openissuer.domain.authorization import AuthorizationCode
from openissuer.domain.events import Event
from openissuer.domain.offers import AccessGrant, PreAuthorizedOffer
from openissuer.errors import (
    InvalidAuthorizationDetailsError,
    InvalidClientError,
    InvalidDpopProofError,
    InvalidGrantError,
    InvalidRequestError,
    OAuthError,
)
from openissuer.ports.clock import Clock
from openissuer.ports.secrets import SecretBox
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.ports.wallet_store import NewGrant, SingleUseTaken, WalletStore
from openissuer.protocol.pkce import verify_code_verifier
from openissuer.protocol.token_request import (
    AuthorizationCodeRequest,
    PreAuthorizedCodeRequest,
    TokenRequest,
    create_token_response,
)
from openissuer.services.offers import tx_code_digest
from openissuer.services.tenancy import WalletTenant
from openissuer.services.wallet_auth import ClientBinding, PresentedCredentials, WalletAuthService, replay_error
from openissuer.services.wallet_events import (
    AUTHORIZATION_CODE_GRANT,
    offer_locked,
    redemption_events,
    token_issued,
    token_refused,
)
from openissuer.services.wallet_secrets import digest_secret, new_secret

log = logging.getLogger("openissuer.tokens")


class TokenService:
    """Exchange pre-authorized codes for short-lived access tokens bound to the offer."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: WalletStore,
        clock: Clock,
        box: SecretBox,
        *,
        access_token_ttl: timedelta,
        max_tx_code_attempts: int,
        allow_unregistered_public_clients: bool = False,
        wallet_auth: WalletAuthService | None = None,
    ) -> None:
        self._uow = uow_factory
        self._store = store
        self._clock = clock
        self._box = box
        self._ttl = access_token_ttl
        self._max_attempts = max_tx_code_attempts
        self._allow_unregistered = allow_unregistered_public_clients
        self._auth = wallet_auth

    async def exchange(
        self, request: TokenRequest, tenant: WalletTenant | str, presented: PresentedCredentials | None = None
    ) -> dict[str, Any]:
        """Answer a token request of either grant; ``presented`` is what the request presented (DPoP, wallet
        attestation) and the tenant's policy, None when there is nothing to check."""
        if isinstance(request, AuthorizationCodeRequest):
            return await self.exchange_authorization_code(request, tenant, presented)
        return await self.exchange_pre_authorized_code(request, tenant, presented)

    async def _bind(
        self,
        presented: PresentedCredentials | None,
        tenant: WalletTenant | str,
        client_id: str | None,
        client: Any = None,
    ) -> ClientBinding:
        if presented is None or self._auth is None or isinstance(tenant, str):
            return ClientBinding(client_id=client_id)
        return await self._auth.bind(presented, tenant, client_id=client_id, client=client)

    async def exchange_pre_authorized_code(
        self,
        request: PreAuthorizedCodeRequest,
        tenant: WalletTenant | str,
        presented: PresentedCredentials | None = None,
    ) -> dict[str, Any]:
        """Return the token response, or raise ``invalid_grant`` / ``invalid_request`` per OID4VCI §6.3.

        Without a transaction code (the common case) the redemption and the new grant are one statement; else the
        offer is read, its transaction code checked, and it is redeemed by id (with the grant) in one statement.
        The request's single-use values (DPoP and attestation proof ids) are used up in that statement.
        """
        tenant_id = tenant if isinstance(tenant, str) else tenant.id
        binding = await self._bind(presented, tenant, request.client_id)
        now = self._clock.now()
        code_hash = digest_secret(request.pre_authorized_code)
        token = new_secret()
        requested = request.authorization_details
        identifiers = None if requested is None else {secrets.token_urlsafe(16): cid for cid in requested}
        events, messages = redemption_events(tenant_id, now, client_id=binding.client_id)
        grant = NewGrant(
            token_hash=digest_secret(token),
            notification_id=new_secret(),
            credential_identifiers=identifiers or {},
            requested=requested,
            expires_at=now + self._ttl,
            created_at=now,
            client_id=binding.client_id,
            dpop_jkt=binding.dpop_jkt,
            single_use=binding.single_use,
            single_use_expire_at=binding.single_use_expire_at,
            events=events,
            messages=messages,
        )
        token_type = "DPoP" if binding.dpop_jkt is not None else "Bearer"
        if request.tx_code is None:
            try:
                redeemed = await self._store.redeem_code(tenant_id, code_hash, now, grant)
            except SingleUseTaken as exc:
                raise replay_error(binding, exc.taken) from exc
            if redeemed is not None:
                log.info("pre-authorized code redeemed", extra={"offer_id": redeemed})
                return create_token_response(token, int(self._ttl.total_seconds()), identifiers, token_type=token_type)
            grant = dataclasses.replace(grant, single_use=())  # used up by the statement above
        # Otherwise find out why, or check the transaction code, then redeem by id.
        offer = await self._store.find_offer_by_code(tenant_id, code_hash)
        if offer is None or not offer.is_redeemable(now):
            error = InvalidGrantError(
                "The pre-authorized code is invalid, expired or already used", detail=_why_not(offer, now)
            )
            if offer is not None:  # an unknown code is not recorded: see services/wallet_events.py
                await self._store.record_events(
                    [token_refused(tenant_id, now, error, _reason(offer, now), offer_id=offer.id)]
                )
            raise error
        try:
            await self._check_tx_code(offer, request.tx_code)
            _check_requested(offer, requested)
        except (InvalidRequestError, InvalidAuthorizationDetailsError) as exc:
            await self._store.record_events([token_refused(tenant_id, now, exc, "invalid_request", offer_id=offer.id)])
            raise
        try:
            redeemed_by_id = await self._store.redeem_offer(tenant_id, offer.id, now, grant)
        except SingleUseTaken as exc:
            raise replay_error(binding, exc.taken) from exc
        if not redeemed_by_id:
            error = InvalidGrantError(
                "The pre-authorized code is invalid, expired or already used",
                detail=f"offer {offer.id} was redeemed, revoked or locked meanwhile",
            )
            await self._store.record_events([token_refused(tenant_id, now, error, "concurrent", offer_id=offer.id)])
            raise error
        log.info("pre-authorized code redeemed", extra={"offer_id": offer.id})
        return create_token_response(token, int(self._ttl.total_seconds()), identifiers, token_type=token_type)

    async def exchange_authorization_code(
        self,
        request: AuthorizationCodeRequest,
        tenant: WalletTenant | str,
        presented: PresentedCredentials | None = None,
    ) -> dict[str, Any]:
        """RFC 6749 §4.1.3 with PKCE: the code is used up by its first presentation; a replay revokes its tokens.

        RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization server MUST deny the
        request and SHOULD revoke (when possible) all tokens previously issued based on that authorization code."
        """
        tenant_id = tenant if isinstance(tenant, str) else tenant.id
        code_hash, now = digest_secret(request.code), self._clock.now()
        token = new_secret()
        binding: ClientBinding | None = None
        if self._auth is not None and presented is not None and (presented.dpop or presented.attestation):
            # Proofs are checked and used up (their own statement) before the unit of work takes the write lock.
            async with self._uow(read_only=True) as uow:
                known = await uow.wallet_clients.get_by_client_id(tenant_id, request.client_id)
            binding = await self._bind(presented, tenant, request.client_id, known)
            await self._auth.use_up(binding)
        async with self._uow() as uow:
            client = await uow.wallet_clients.get_by_client_id(tenant_id, request.client_id)
            if client is None and not self._allow_unregistered:
                raise InvalidClientError("Unknown client_id")
            if binding is None:
                binding = await self._bind(presented, tenant, request.client_id, client)
            code = await uow.authorization.find_code(code_hash)
            if code is None or code.tenant_id != tenant_id:
                raise InvalidGrantError("The authorization code is invalid")
            if code.dpop_jkt is not None and binding.dpop_jkt != code.dpop_jkt:
                # RFC 9449 §10: checked before the code is used up, so a stolen code without the key costs the
                # wallet nothing.
                refused = InvalidDpopProofError(
                    "This authorization code is bound to a DPoP key (dpop_jkt): send a DPoP proof signed by it"
                    if binding.dpop_jkt is None
                    else "The DPoP proof is not signed by the key the authorization code is bound to"
                )
                await uow.events.add(self._code_refused(tenant_id, now, refused, "dpop_key_mismatch", request))
                await uow.commit()
                raise refused
            if not await uow.authorization.consume_code(code_hash, now):
                revoked = await uow.access_grants.revoke_for_code(code_hash, now)
                error = InvalidGrantError(
                    "The authorization code was already used", detail=f"replayed code: {revoked} tokens revoked"
                )
                extra = {"revokedGrants": revoked}
                await uow.events.add(self._code_refused(tenant_id, now, error, "replayed", request, extra))
                await uow.commit()
                raise error
            try:
                _check_code(code, request, now)
            except InvalidGrantError as exc:
                await uow.events.add(self._code_refused(tenant_id, now, exc, "invalid_code", request))
                await uow.commit()  # a failed exchange uses the code up all the same
                raise
            identifiers = (
                {secrets.token_urlsafe(16): cid for cid in code.configuration_ids}
                if code.by_authorization_details
                else None
            )
            # In the transaction that used the code up: a replay then either comes after it, and revokes this
            # grant, or never sees the code unused.
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
                    client_id=request.client_id,
                    dpop_jkt=binding.dpop_jkt,
                )
            )
            await uow.events.add(token_issued(tenant_id, now, code, client_id=request.client_id))
            await uow.commit()
        token_type = "DPoP" if binding.dpop_jkt is not None else "Bearer"
        return create_token_response(
            token, int(self._ttl.total_seconds()), identifiers, scope=code.scope, token_type=token_type
        )

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
        now = self._clock.now()
        attempts = await self._store.record_failed_tx_code(
            offer.tenant_id,
            offer.id,
            self._max_attempts,
            events=[token_refused(offer.tenant_id, now, InvalidGrantError, "wrong_tx_code", offer_id=offer.id)],
            lock_events=[offer_locked(offer.tenant_id, now, offer.id, self._max_attempts)],
        )
        raise InvalidGrantError("The transaction code is wrong", detail=f"offer {offer.id}: {attempts} wrong codes")

    def _code_refused(
        self,
        tenant_id: str,
        now: datetime,
        error: OAuthError,
        reason: str,
        request: AuthorizationCodeRequest,
        extra: dict[str, Any] | None = None,
    ) -> Event:
        return token_refused(
            tenant_id,
            now,
            error,
            reason,
            grant_type=AUTHORIZATION_CODE_GRANT,
            client_id=request.client_id,
            extra=extra,
        )


def _check_code(code: AuthorizationCode, request: AuthorizationCodeRequest, now: datetime) -> None:
    """RFC 6749 §4.1.3: unexpired, issued to this client and redirect URI; RFC 7636 §4.6: the PKCE verifier."""
    if now >= code.expires_at:
        raise InvalidGrantError("The authorization code has expired")
    if code.client_id != request.client_id or code.redirect_uri != request.redirect_uri:
        raise InvalidGrantError("The authorization code was issued to another client or redirect_uri")
    verify_code_verifier(request.code_verifier, code.code_challenge)


def _check_requested(offer: PreAuthorizedOffer, requested: tuple[str, ...] | None) -> None:
    """RFC 9396: the configurations of ``authorization_details`` must all be in the offer."""
    if requested is not None and not set(requested) <= set(offer.credential_configuration_ids):
        raise InvalidAuthorizationDetailsError("authorization_details names a configuration the offer does not hold")


def _reason(offer: PreAuthorizedOffer, now: datetime) -> str:
    """The fixed word an event records for an offer that cannot be redeemed."""
    if offer.redeemed_at is not None:
        return "redeemed"
    if offer.revoked_at is not None:
        return "revoked"
    return "locked" if offer.locked else "expired"


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
