"""The interaction hook in the Authorization Code flow (reference platform §3.2 steps 6-7, §7.2, §7.3).

After the identity provider signed the holder in, the browser goes to the tenant's hook with a session token;
what the sign-in established waits in the database (any worker may receive the return), under the hash of a
fresh ``state``. The hook sends the browser back to ``/v1/oauth/interaction-hook/callback`` with its own token,
checked for its signature (HS256, the hook's secret), ``aud`` (the issuer), ``iss`` (the hook), ``exp``, the
visit's ``state`` — taken once, by a conditional update — and the visit's timeout (``sessionTimeoutInSec``).
Its ``claims`` join the ID token's and its ``claimsToPersist`` are kept on the user; an ``error`` ends the flow with
``access_denied`` at the wallet. A token that cannot be trusted (bad signature, no state, unknown or finished
visit) ends on a page without a way back; one that fails a later check ends on a page with a link to the wallet.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from openissuer.claims import merge_claim_sources
from openissuer.domain.authorization import AuthenticationProvider, AuthorizationRequest, AuthorizationSession
from openissuer.domain.interaction_hooks import HookSession, InteractionHook
from openissuer.errors import AccessDeniedError, AuthorizationPageError
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.protocol.authorization_request import create_error_redirect
from openissuer.protocol.interaction_hook import HookReturn, HookTokenError, read_hook_state, verify_hook_return
from openissuer.services.interaction_hooks import InteractionHookService
from openissuer.services.sign_in_binding import SignInBinding, SignInRedirect, uses_secure_cookies
from openissuer.services.tenancy import WalletTenant
from openissuer.services.wallet_events import hook_completed
from openissuer.services.wallet_secrets import digest_secret, new_secret

log = logging.getLogger("openissuer.authorization")


class IssueCode(Protocol):
    """``AuthorizationService._issue_code``: use the visit up and give the wallet its code, in one transaction."""

    async def __call__(
        self,
        tenant: WalletTenant,
        provider: AuthenticationProvider,
        session_id: str,
        request: AuthorizationRequest,
        subject: str,
        id_token_claims: dict[str, Any],
        *,
        hook: tuple[bytes, HookReturn] | None = None,
    ) -> str: ...


class InteractionHookFlow:
    """Send the signed-in holder through the hook and take them back."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        hooks: InteractionHookService,
        issue_code: IssueCode,
        binding: SignInBinding,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._hooks = hooks
        self._issue_code = issue_code
        self._binding = binding

    async def visit(
        self,
        tenant: WalletTenant,
        provider: AuthenticationProvider,
        session: AuthorizationSession,
        subject: str,
        claims: dict[str, Any],
        hook: InteractionHook,
    ) -> str:
        """Store the visit of a sign-in its callback has taken, and return the hook URL with its session token
        (§7.2)."""
        state, now = new_secret(), self._clock.now()
        expires_at = now + timedelta(seconds=hook.session_timeout)
        async with self._uow() as uow:
            user = await uow.users.find_by_subject(tenant.id, provider.id, subject)
            await uow.interaction_hooks.add_session(
                HookSession(
                    state_hash=digest_secret(state),
                    tenant_id=tenant.id,
                    session_id=session.id,
                    request=session.request,
                    provider_id=provider.id,
                    provider_url=provider.url,
                    subject_id=subject,
                    claims=claims,
                    expires_at=expires_at,
                    created_at=now,
                )
            )
            await uow.commit()
        known = merge_claim_sources(persisted=user.claims if user is not None else None, id_token=claims)
        log.info("holder sent to the interaction hook", extra={"session_id": session.id})
        return self._hooks.visit_url(hook, tenant, state=state, claims=known, now=now, expires_at=expires_at)

    async def finish(self, query: dict[str, str], tenant: WalletTenant, cookies: Mapping[str, str]) -> SignInRedirect:
        """Check the hook's token (§7.3) and return the wallet redirect: a code, or ``access_denied``. Only the
        browser that started the sign-in (its cookie) may come back; another is refused before the visit is used."""
        token = query.get("session_token")
        async with self._uow(read_only=True) as uow:
            hook = await uow.interaction_hooks.get(tenant.id)
            provider = await uow.authentication_providers.get_for_tenant(tenant.id)
        if not token or hook is None:
            raise _not_valid("no session token, or no hook configured")
        try:
            payload = self._hooks.read_return_token(hook, token)
            state_hash = digest_secret(read_hook_state(payload))
        except HookTokenError as exc:
            raise _not_valid(str(exc)) from exc
        async with self._uow(read_only=True) as uow:
            visit = await uow.interaction_hooks.find_session(tenant.id, state_hash)
        if visit is None or visit.consumed_at is not None:
            raise AuthorizationPageError(
                "This sign-in has expired", "The sign-in is unknown or already finished. Start again from your wallet."
            )
        self._binding.verify(tenant.id, visit.session_id, cookies, secure=uses_secure_cookies(tenant.issuer))
        cleared = self._binding.cleared(tenant.id, visit.session_id)
        back = create_error_redirect(
            visit.request.redirect_uri,
            AccessDeniedError("The sign-in was not completed"),
            state=visit.request.state,
            issuer=tenant.issuer,
            response_mode=visit.request.response_mode,
        )
        now = self._clock.now()
        try:
            if now >= visit.expires_at:
                raise HookTokenError("the interaction step timed out (sessionTimeoutInSec)")
            answer = verify_hook_return(payload, issuer=tenant.issuer, hook_url=hook.url, now=now)
            if provider is None or (provider.id, provider.url) != (visit.provider_id, visit.provider_url):
                raise HookTokenError("the authentication provider changed during the interaction step")
        except HookTokenError as exc:
            await self._take(visit, now, str(exc))
            raise AuthorizationPageError(
                "Sign-in could not be completed",
                "The interaction step did not complete in time or returned something openissuer cannot accept.",
                return_url=back,
                detail=str(exc),
            ) from exc
        if answer.error_message is not None:
            if not await self._take(visit, now, "the hook ended the sign-in with an error"):
                raise AuthorizationPageError("This sign-in has expired", "The sign-in was already finished.")
            log.info("the interaction hook ended the sign-in", extra={"reason": answer.error_message})
            return SignInRedirect(back, cleared)
        location = await self._issue_code(
            tenant, provider, visit.session_id, visit.request, visit.subject_id, visit.claims, hook=(state_hash, answer)
        )
        return SignInRedirect(location, cleared)

    async def _take(self, visit: HookSession, now: datetime, failure: str) -> bool:
        """Use the visit up on a failed return and record why, in one transaction; tell whether it was taken."""
        async with self._uow() as uow:
            taken = await uow.interaction_hooks.take_session(visit.tenant_id, visit.state_hash, now)
            if taken:
                event = hook_completed(
                    visit.tenant_id, now, visit.session_id, client_id=visit.request.client_id, failure=failure
                )
                await uow.events.add(event)
            await uow.commit()
        return taken


def _not_valid(reason: str) -> AuthorizationPageError:
    return AuthorizationPageError(
        "This sign-in is not valid",
        "The interaction step returned something openissuer cannot accept. Start again from your wallet.",
        detail=reason,
    )
