"""The authorization server side of the Authorization Code flow (OID4VCI 1.0 §5, RFC 6749 §4.1, RFC 9126,
RFC 7636, RFC 9207): the wallet's request, the holder's sign-in at the tenant's identity provider, and the code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from openissuer.claims import merge_claim_sources
from openissuer.domain.authorization import (
    AuthenticationProvider,
    AuthorizationCode,
    AuthorizationRequest,
    AuthorizationSession,
    PushedRequest,
    WalletClient,
)
from openissuer.domain.ids import new_id
from openissuer.domain.users import User
from openissuer.errors import (
    AccessDeniedError,
    AuthorizationPageError,
    ClientNotAllowedPageError,
    ConflictError,
    IdentityProviderError,
    InvalidClientError,
    InvalidDpopProofError,
    InvalidRequestError,
    OAuthError,
    UnauthorizedClientError,
    UnknownClientPageError,
)
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.protocol.authorization_request import (
    QUERY,
    REQUEST_URI_PREFIX,
    RESPONSE_MODES,
    UnregisteredRedirectUriError,
    create_error_redirect,
    create_redirect,
    parse_dpop_jkt,
    parse_requested_credentials,
    parse_response_mode,
    verify_pkce_parameters,
    verify_redirect_uri,
    verify_response_type,
    verify_state_lengths,
)
from openissuer.protocol.interaction_hook import HookReturn
from openissuer.protocol.pkce import S256, create_code_challenge
from openissuer.protocol.token_request import verify_client_id_length
from openissuer.services.authentication_providers import RESERVED_PARAMETERS, AuthenticationProviderService
from openissuer.services.interaction_hook_flow import InteractionHookFlow
from openissuer.services.interaction_hooks import InteractionHookService
from openissuer.services.sign_in_binding import SignInBinding, SignInRedirect, uses_secure_cookies
from openissuer.services.tenancy import WalletTenant
from openissuer.services.upstream_oidc import UpstreamOidcClient
from openissuer.services.wallet_auth import PresentedCredentials, WalletAuthService
from openissuer.services.wallet_clients import AUTHORIZATION_CODE
from openissuer.services.wallet_events import hook_completed
from openissuer.services.wallet_secrets import digest_secret, new_secret

log = logging.getLogger("openissuer.authorization")

# Claims of the ID token that describe the token, not the holder: not offered to claim mappings.
PROTOCOL_CLAIMS = frozenset(
    {"iss", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "auth_time", "sid", "jti", "acr", "amr"}
)
MAX_FORWARDED_LENGTH = 1000


HOOK_COOKIE_MARGIN = 60
"""Seconds the sign-in's cookie outlives the interaction hook's visit (a return just in time still finds it)."""


@dataclass(frozen=True)
class ScopeMap:
    """The credential configurations a wallet may ask for: scope -> configuration id, and every known id."""

    by_scope: dict[str, str]
    ids: frozenset[str]


class AuthorizationService:
    """Authorize wallets after the holder signs in at the tenant's identity provider."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        providers: AuthenticationProviderService,
        oidc: UpstreamOidcClient,
        *,
        allow_unregistered_public_clients: bool,
        hooks: InteractionHookService | None = None,
        session_ttl: timedelta = timedelta(minutes=10),
        code_ttl: timedelta = timedelta(seconds=60),
        pushed_request_ttl: timedelta = timedelta(seconds=60),
        wallet_auth: WalletAuthService | None = None,
        binding: SignInBinding,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._providers = providers
        self._oidc = oidc
        self._binding = binding
        self._hook_flow = (
            None if hooks is None else InteractionHookFlow(uow_factory, clock, hooks, self._issue_code, binding)
        )
        self._allow_unregistered = allow_unregistered_public_clients
        self._session_ttl = session_ttl
        self._code_ttl = code_ttl
        self._par_ttl = pushed_request_ttl
        self._auth = wallet_auth

    async def _registered_redirect_uris(
        self, uow: UnitOfWork, tenant_id: str, client_id: str | None, found: list[WalletClient] | None = None
    ) -> tuple[str, ...] | None:
        """Return the client's redirect URIs (None: unregistered public client allowed); raise for unknown ones.
        ``found`` receives the client record."""
        if not client_id:
            raise InvalidRequestError("client_id is required")
        verify_client_id_length(client_id)
        client = await uow.wallet_clients.get_by_client_id(tenant_id, client_id)
        if client is None:
            if self._allow_unregistered:
                return None
            raise InvalidClientError("Unknown client_id")
        if AUTHORIZATION_CODE not in client.grant_types:
            raise UnauthorizedClientError("This client may not use the authorization code grant")
        if found is not None:
            found.append(client)
        return client.redirect_uris

    async def push_authorization_request(
        self,
        params: dict[str, str],
        scopes: ScopeMap,
        tenant: WalletTenant,
        presented: PresentedCredentials | None = None,
    ) -> dict[str, Any]:
        """RFC 9126 §2: validate the request now and return ``{request_uri, expires_in}`` (single use, 60 s).

        The client authenticates here when the tenant or the client requires it (wallet attestation, HAIP §4.4).
        A DPoP proof sent with the request (RFC 9449 §10.1) binds the authorization code to its key, as
        ``dpop_jkt`` does; when both are sent they must name the same key."""
        tenant_id = tenant.id
        if "request_uri" in params:
            raise InvalidRequestError("request_uri must not be pushed")
        verify_state_lengths(params)
        found: list[WalletClient] = []
        async with self._uow(read_only=True) as uow:
            registered = await self._registered_redirect_uris(uow, tenant_id, params.get("client_id"), found)
        if self._auth is not None and presented is not None:
            binding = await self._auth.bind(
                presented, tenant, client_id=params["client_id"], client=found[0] if found else None, dpop_taken=False
            )
            await self._auth.use_up(binding)
        verify_redirect_uri(params.get("redirect_uri"), registered)
        _, _, jkt = self._validate_rest(params, scopes)
        dpop = presented.dpop if presented is not None else None
        if dpop is not None:
            if jkt is not None and jkt != dpop.jkt:
                raise InvalidDpopProofError("dpop_jkt does not match the key of the request's DPoP proof")
            params = {**params, "dpop_jkt": dpop.jkt}
        request_uri = REQUEST_URI_PREFIX + new_secret()
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.authorization.add_pushed_request(
                PushedRequest(
                    request_uri_hash=digest_secret(request_uri),
                    tenant_id=tenant_id,
                    client_id=params["client_id"],
                    parameters=params,
                    expires_at=now + self._par_ttl,
                    created_at=now,
                )
            )
            await uow.commit()
        return {"request_uri": request_uri, "expires_in": int(self._par_ttl.total_seconds())}

    def _validate_rest(self, params: dict[str, str], scopes: ScopeMap) -> tuple[str, Any, str | None]:
        verify_response_type(params)
        parse_response_mode(params)
        challenge = verify_pkce_parameters(params)
        requested = parse_requested_credentials(params, scopes.by_scope, scopes.ids)
        return challenge, requested, parse_dpop_jkt(params)

    async def authorize(self, query: dict[str, str], scopes: ScopeMap, tenant: WalletTenant) -> SignInRedirect:
        """Return where to send the browser: the identity provider, or the wallet with an error.

        Raises AuthorizationPageError when the request cannot be answered by redirect (RFC 6749 §4.1.2.1), and
        InvalidRequestError (a page too) for a ``state`` or ``issuer_state`` too long to store or echo back.
        """
        tenant_id = tenant.id
        verify_state_lengths(query)
        if "request_uri" not in query and self._auth is not None and (await self._auth.policy(tenant)).requires_par:
            raise AuthorizationPageError(
                "This sign-in link is not valid",
                "This issuer takes authorization requests only by PAR (pushed authorization request).",
            )
        params = await self._resolve_pushed(query, tenant_id)
        async with self._uow(read_only=True) as uow:
            try:
                registered = await self._registered_redirect_uris(uow, tenant_id, params.get("client_id"))
                redirect_uri = verify_redirect_uri(params.get("redirect_uri"), registered)
            except OAuthError as exc:
                raise _page_error(exc) from exc
            provider = await uow.authentication_providers.get_for_tenant(tenant_id)
        state = params.get("state")
        requested_mode = params.get("response_mode") or QUERY
        mode = requested_mode if requested_mode in RESPONSE_MODES else QUERY  # an unknown one is refused below
        try:
            challenge, requested, jkt = self._validate_rest(params, scopes)
            if provider is None:
                raise InvalidRequestError("The issuer has no authentication provider configured")
        except OAuthError as exc:
            return SignInRedirect(
                create_error_redirect(redirect_uri, exc, state=state, issuer=tenant.issuer, response_mode=mode)
            )
        request = AuthorizationRequest(
            client_id=params["client_id"],
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=challenge,
            configuration_ids=requested.configuration_ids,
            by_authorization_details=requested.by_authorization_details,
            issuer_state=params.get("issuer_state"),
            forwarded_parameters=_forwarded(provider, params),
            scope=None if requested.by_authorization_details else _granted_scope(params, scopes),
            response_mode=mode,
            dpop_jkt=jkt,
        )
        return await self._start_sign_in(tenant, provider, request)

    async def _resolve_pushed(self, query: dict[str, str], tenant_id: str) -> dict[str, str]:
        """RFC 9126 §4: with ``request_uri`` the pushed parameters are used, and the request_uri is used up."""
        request_uri = query.get("request_uri")
        if request_uri is None:
            return query
        async with self._uow() as uow:
            pushed = await uow.authorization.take_pushed_request(
                tenant_id, digest_secret(request_uri), self._clock.now()
            )
            await uow.commit()
        if pushed is None or pushed.client_id != query.get("client_id"):
            raise AuthorizationPageError(
                "This sign-in link has expired", "The request_uri is unknown, already used or expired."
            )
        return dict(pushed.parameters)

    async def _start_sign_in(
        self, tenant: WalletTenant, provider: AuthenticationProvider, request: AuthorizationRequest
    ) -> SignInRedirect:
        try:
            metadata = await self._oidc.metadata(provider.url)
        except IdentityProviderError as exc:
            raise self._provider_page(tenant, request, exc) from exc
        idp_state, now = new_secret(), self._clock.now()
        session = AuthorizationSession(
            id=new_id(),
            tenant_id=tenant.id,
            request=request,
            idp_state_hash=digest_secret(idp_state),
            idp_nonce=new_secret(),
            idp_code_verifier=new_secret(),
            expires_at=now + self._session_ttl,
            created_at=now,
            provider_id=provider.id,
            provider_url=provider.url,
        )
        async with self._uow() as uow:
            await uow.authorization.add_session(session)
            await uow.commit()
        static = provider.static_request_parameters
        # Configuration validation refuses reserved names; a provider stored before a name was reserved still has it.
        parameters = {str(k): str(v) for k, v in static.items() if k not in RESERVED_PARAMETERS}
        parameters.update(request.forwarded_parameters)
        parameters.update(
            response_type="code",
            client_id=provider.client_id,
            redirect_uri=tenant.endpoints.authentication_callback,
            scope=" ".join(provider.scope),
            state=idp_state,
            nonce=session.idp_nonce,
            code_challenge=create_code_challenge(session.idp_code_verifier),
            code_challenge_method=S256,
        )
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return SignInRedirect(
            f"{metadata.authorization_endpoint}{separator}{urlencode(parameters)}",
            self._binding.cookie(tenant.id, session.id, int(self._session_ttl.total_seconds())),
        )

    def _provider_page(
        self, tenant: WalletTenant, request: AuthorizationRequest, error: IdentityProviderError
    ) -> AuthorizationPageError:
        back = create_error_redirect(
            request.redirect_uri,
            AccessDeniedError("The sign-in at the identity provider failed"),
            state=request.state,
            issuer=tenant.issuer,
            response_mode=request.response_mode,
        )
        return AuthorizationPageError(
            "Sign-in is not available", error.description, return_url=back, detail=error.detail
        )

    async def complete(self, query: dict[str, str], tenant: WalletTenant, cookies: Mapping[str, str]) -> SignInRedirect:
        """Handle the identity provider's callback; return where the browser goes next: the interaction hook when
        the tenant has an enabled one, else the wallet's redirect URI with the authorization code.

        The callback takes the session (one conditional UPDATE) before it calls the provider, so of two deliveries
        of one callback exactly one exchanges the code and goes on; the other gets a page and exchanges nothing.
        The session must still name the tenant's provider, and an RFC 9207 ``iss`` in the callback its issuer
        (§2.4: "clients MUST reject authorization responses with an unexpected issuer")."""
        tenant_id = tenant.id
        state = query.get("state")
        async with self._uow(read_only=True) as uow:
            session = None if not state else await uow.authorization.find_session(tenant_id, digest_secret(state))
            provider = await uow.authentication_providers.get_for_tenant(tenant_id)
            hook = await uow.interaction_hooks.get(tenant_id) if self._hook_flow is not None else None
        now = self._clock.now()
        if session is None or now >= session.expires_at:
            raise AuthorizationPageError(
                "This sign-in has expired",
                "The sign-in is unknown, already finished or took too long. Start again from your wallet.",
            )
        # Only the browser that started the sign-in may finish it; checked before the sign-in is taken, so another
        # client holding a leaked callback URL neither finishes nor spoils it.
        self._binding.verify(tenant_id, session.id, cookies, secure=uses_secure_cookies(tenant.issuer))
        async with self._uow() as uow:
            taken = await uow.authorization.complete_session(tenant_id, session.id, now)
            await uow.commit()
        if not taken:
            raise AuthorizationPageError(
                "This sign-in was already used",
                "This answer of the identity provider has already been received. If your wallet did not get the "
                "credential, start again from your wallet.",
            )
        try:
            provider = _session_provider(session, provider)
            subject, claims = await self._sign_in_result(tenant, provider, session, query)
        except IdentityProviderError as exc:
            raise self._provider_page(tenant, session.request, exc) from exc
        holder_claims = {k: v for k, v in claims.items() if k not in PROTOCOL_CLAIMS}
        if hook is not None and not hook.disabled:
            assert self._hook_flow is not None
            # The hook's return is checked against the cookie: it now lives as long as the visit may.
            return SignInRedirect(
                await self._hook_flow.visit(tenant, provider, session, subject, holder_claims, hook),
                self._binding.cookie(tenant_id, session.id, hook.session_timeout + HOOK_COOKIE_MARGIN),
            )
        return SignInRedirect(
            await self._issue_code(tenant, provider, session.id, session.request, subject, holder_claims),
            self._binding.cleared(tenant_id, session.id),
        )

    async def return_from_hook(
        self, query: dict[str, str], tenant: WalletTenant, cookies: Mapping[str, str]
    ) -> SignInRedirect:
        """Handle the interaction hook's return (reference §7.3); see ``InteractionHookFlow.finish``."""
        if self._hook_flow is None:
            raise AuthorizationPageError("This sign-in is not valid", "This issuer has no interaction step.")
        return await self._hook_flow.finish(query, tenant, cookies)

    async def _sign_in_result(
        self,
        tenant: WalletTenant,
        provider: AuthenticationProvider,
        session: AuthorizationSession,
        query: dict[str, str],
    ) -> tuple[str, dict[str, Any]]:
        issuer = query.get("iss")
        if issuer is not None and issuer != (await self._oidc.metadata(provider.url)).issuer:
            raise IdentityProviderError(
                "The sign-in answer came from another identity provider",
                detail="the callback's iss is not the issuer of the session's provider (RFC 9207)",
            )
        if "error" in query:
            raise IdentityProviderError(
                "The identity provider did not sign you in", detail=f"error={query['error'][:64]}"
            )
        code = query.get("code")
        if not code:
            raise IdentityProviderError("The identity provider returned no authorization code")
        tokens = await self._oidc.exchange_code(
            provider,
            self._providers.client_secret(provider),
            code=code,
            redirect_uri=tenant.endpoints.authentication_callback,
            code_verifier=session.idp_code_verifier,
        )
        return await self._oidc.verify_id_token(provider, tokens["id_token"], nonce=session.idp_nonce)

    async def _issue_code(
        self,
        tenant: WalletTenant,
        provider: AuthenticationProvider,
        session_id: str,
        request: AuthorizationRequest,
        subject: str,
        id_token_claims: dict[str, Any],
        *,
        hook: tuple[bytes, HookReturn] | None = None,
    ) -> str:
        """Use the hook visit up (the sign-in itself was taken by its callback), find or create the user, and
        store the code: one transaction.

        The code's claims are the ID token's overlaid by the hook's (reference §4.4 precedence); the user keeps the
        provider's ``claimsToPersist`` from the ID token and the hook's ``claimsToPersist`` from its claims.
        """
        claims, persisted = id_token_claims, {}
        if hook is not None:
            answer = hook[1]
            claims = merge_claim_sources(id_token=id_token_claims, interaction_hook=answer.claims)
            persisted = {k: answer.claims[k] for k in answer.claims_to_persist if answer.claims[k] is not None}
        code, now = new_secret(), self._clock.now()
        async with self._uow() as uow:
            if hook is not None and not await uow.interaction_hooks.take_session(tenant.id, hook[0], now):
                raise AuthorizationPageError("This sign-in has expired", "The sign-in was already finished.")
            user = await self._user_for(uow, provider, subject, id_token_claims, now, also_persist=persisted)
            if hook is not None:
                claim_names = list(hook[1].claims)
                event = hook_completed(
                    tenant.id, now, session_id, client_id=request.client_id, user_id=user.id, claim_names=claim_names
                )
                await uow.events.add(event)
            await uow.authorization.add_code(
                AuthorizationCode(
                    code_hash=digest_secret(code),
                    tenant_id=tenant.id,
                    session_id=session_id,
                    client_id=request.client_id,
                    redirect_uri=request.redirect_uri,
                    code_challenge=request.code_challenge,
                    configuration_ids=request.configuration_ids,
                    by_authorization_details=request.by_authorization_details,
                    user_id=user.id,
                    claims=claims,
                    provider_url=provider.url,
                    subject_id=subject,
                    expires_at=now + self._code_ttl,
                    created_at=now,
                    scope=request.scope,
                    dpop_jkt=request.dpop_jkt,
                )
            )
            await uow.commit()
        log.info("holder signed in", extra={"user_id": user.id, "session_id": session_id})
        parameters = {"code": code, "state": request.state, "iss": tenant.issuer}
        return create_redirect(request.redirect_uri, parameters, response_mode=request.response_mode)

    async def _user_for(
        self,
        uow: UnitOfWork,
        provider: AuthenticationProvider,
        subject: str,
        claims: dict[str, Any],
        now: datetime,
        *,
        also_persist: Mapping[str, Any] | None = None,
    ) -> User:
        """Find the user by provider and subject, or create it; store the provider's ``claimsToPersist`` (and the
        interaction hook's, ``also_persist``)."""
        persisted = {k: claims[k] for k in provider.claims_to_persist if k in claims}
        persisted.update(also_persist or {})
        user = await uow.users.find_by_subject(provider.tenant_id, provider.id, subject)
        if user is None:
            user = User(
                id=new_id(),
                tenant_id=provider.tenant_id,
                claims=persisted,
                created_at=now,
                updated_at=now,
                authentication_provider_id=provider.id,
                subject_id=subject,
            )
            try:
                await uow.users.add(user)
                return user
            except ConflictError:  # the same holder signed in twice at once: the other sign-in created the user
                found = await uow.users.find_by_subject(provider.tenant_id, provider.id, subject)
                if found is None:
                    raise
                user = found
        if persisted:
            await uow.users.update_claims(provider.tenant_id, user.id, {**user.claims, **persisted}, now)
        return user


def _session_provider(session: AuthorizationSession, provider: AuthenticationProvider | None) -> AuthenticationProvider:
    """Return the tenant's provider if it is still the one the session sent the holder to (same id and issuer URL):
    a code and PKCE verifier from one provider must never go to another's token endpoint (a mix-up)."""
    if provider is None or (session.provider_id, session.provider_url) != (provider.id, provider.url):
        raise IdentityProviderError(
            "The identity provider changed during the sign-in",
            detail=f"session started with provider {session.provider_id} ({session.provider_url})",
        )
    return provider


def _page_error(error: OAuthError) -> AuthorizationPageError:
    """The page for a request that cannot be answered by redirect, with the reference's status (§3.2): 401 for an
    unknown client, 403 for a known one asking with an unregistered redirect URI or grant, else 400."""
    title, description = "This sign-in link is not valid", error.description
    if isinstance(error, InvalidClientError):
        return UnknownClientPageError(title, description)
    if isinstance(error, UnauthorizedClientError | UnregisteredRedirectUriError):
        return ClientNotAllowedPageError(title, description)
    return AuthorizationPageError(title, description)


def _granted_scope(params: Mapping[str, str], scopes: ScopeMap) -> str | None:
    """The requested scope values that name a configuration, in request order (the token response's ``scope``)."""
    granted = [value for value in dict.fromkeys((params.get("scope") or "").split()) if value in scopes.by_scope]
    return " ".join(granted) or None


def _forwarded(provider: AuthenticationProvider, params: dict[str, str]) -> dict[str, str]:
    """Reference §5.1 ``forwardedRequestParameters``: only named parameters, values under 1000 characters, never a
    reserved one (a provider stored before the name was reserved may still list it)."""
    names = [name for name in provider.forwarded_request_parameters if name not in RESERVED_PARAMETERS]
    return {name: params[name][:MAX_FORWARDED_LENGTH] for name in names if name in params}
