"""Pre-authorized offers (reference platform §2.2–2.4): create, revoke, serve by reference, render as QR code."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from openissuer.claims import merge_claim_sources
from openissuer.crypto.base64url import encode_base64url
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.authorization import AuthorizationOffer
from openissuer.domain.durations import Duration
from openissuer.domain.events import (
    AUTHORIZATION_OFFER_CREATED,
    OFFER_CREATED,
    OFFER_REVOKED,
    USER_CREATED,
    USER_UPDATED,
    Event,
)
from openissuer.domain.ids import new_id
from openissuer.domain.offers import PreAuthorizedOffer, TxCodeConfiguration
from openissuer.domain.users import User
from openissuer.errors import ConflictError, ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.secrets import SecretBox
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.ports.wallet_store import WalletStore
from openissuer.protocol.credential_offer import (
    create_authorization_code_offer,
    create_offer_uri_by_reference,
    create_offer_uri_by_value,
    create_pre_authorized_offer,
)
from openissuer.protocol.tx_code import MAX_DESCRIPTION_LENGTH, MAX_LENGTH, MIN_LENGTH, generate_tx_code
from openissuer.services.access import OPERATORS, authorize
from openissuer.services.audit import management_event
from openissuer.services.configurations import ConfigurationCatalog, TenantConfigurations
from openissuer.services.offer_claims import find_non_finite_numbers, find_offer_claim_problems
from openissuer.services.tenancy import TenantDirectory, WalletTenant
from openissuer.services.tenant_settings import find_credential_offer_endpoint_problem
from openissuer.services.wallet_secrets import digest_secret, new_secret

TX_CODE_MAC = "tx-code"
OFFER_REFERENCE_MAC = "offer-reference"


def tx_code_digest(box: SecretBox, offer_id: str, tx_code: str) -> bytes:
    """The stored form of a transaction code: keyed and bound to its offer."""
    return box.mac(TX_CODE_MAC, f"{offer_id}:{tx_code}".encode())


async def _offer_endpoint(uow: UnitOfWork, tenant_id: str, requested: str | None) -> str | None:
    """The wallet endpoint an offer's URI points at: the offer's own, else the tenant's default (reference §11.1)."""
    if requested is not None:
        return requested
    return (await uow.tenant_settings.get(tenant_id)).credential_offer_endpoint


def _code_aad(offer_id: str) -> bytes:
    return f"openissuer/offer-code/{offer_id}".encode()


@dataclass(frozen=True)
class OfferInput:
    """A create request as the web layer shaped it."""

    configuration_ids: list[str]
    user_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    claims_to_persist: list[str] = field(default_factory=list)
    tx_code: TxCodeConfiguration | None = None
    expires_in: Duration | None = None
    by_reference: bool | None = None
    credential_offer_endpoint: str | None = None


@dataclass(frozen=True)
class CreatedOffer:
    """A new offer, its URI for the wallet, and its transaction code (shown only now)."""

    offer: PreAuthorizedOffer
    uri: str
    tx_code: str | None


class OfferService:
    """Create and manage single-use pre-authorized offers."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: WalletStore,
        clock: Clock,
        box: SecretBox,
        tenants: TenantDirectory,
        *,
        default_ttl: timedelta,
        max_ttl: timedelta,
        by_reference: bool,
        catalog: ConfigurationCatalog | None = None,
    ) -> None:
        self._uow = uow_factory
        self._catalog = catalog
        self._store = store
        self._clock = clock
        self._box = box
        self._tenants = tenants
        self._default_ttl = default_ttl
        self._max_ttl = max_ttl
        self._by_reference = by_reference

    async def create_pre_authorized_as(self, principal: ManagementPrincipal, data: OfferInput) -> CreatedOffer:
        """Create an offer for a new or existing user; persist ``claimsToPersist`` on the user now."""
        authorize(principal, OPERATORS)
        now = self._clock.now()
        expires_at = self._check_shape(data, now)
        id, code = new_id(), new_secret()
        tx_code = None if data.tx_code is None else generate_tx_code(data.tx_code, secrets.randbelow)
        by_reference = self._by_reference if data.by_reference is None else data.by_reference
        # Read before the write transaction starts (on SQLite it holds the write lock): a cache hit reads nothing.
        configurations = None if self._catalog is None else await self._catalog.current(principal.tenant_id)
        async with self._uow() as uow:
            await self._check_references(uow, principal.tenant_id, data.configuration_ids, data.user_id)
            if configurations is not None:
                await self._check_claims(uow, principal.tenant_id, data, configurations)
            endpoint = await _offer_endpoint(uow, principal.tenant_id, data.credential_offer_endpoint)
            user_id = await self._persist_user(uow, principal.tenant_id, data)
            offer = PreAuthorizedOffer(
                id=id,
                tenant_id=principal.tenant_id,
                user_id=user_id,
                credential_configuration_ids=tuple(dict.fromkeys(data.configuration_ids)),
                claims=data.claims,
                code_hash=digest_secret(code),
                sealed_code=self._box.seal(code.encode(), aad=_code_aad(id)),
                by_reference=by_reference,
                expires_at=expires_at,
                created_at=now,
                tx_code=data.tx_code,
                tx_code_hash=None if tx_code is None else tx_code_digest(self._box, id, tx_code),
                credential_offer_endpoint=endpoint,
            )
            await uow.offers.add(offer)
            for event in _offer_events(principal, offer, data, now):
                await uow.events.add(event)
            await uow.commit()
        tenant = await self._tenants.by_id(principal.tenant_id)
        return CreatedOffer(offer=offer, uri=self._uri(tenant, offer, code), tx_code=tx_code)

    def _check_shape(self, data: OfferInput, now: datetime) -> datetime:
        """Check the request's own fields; return when the offer expires."""
        details: list[ErrorDetail] = []
        if not data.configuration_ids:
            details.append(ErrorDetail("body", "credentials", "must name at least one credential configuration"))
        missing = [key for key in data.claims_to_persist if key not in data.claims]
        details += [ErrorDetail("body", "claimsToPersist", "is not a key of claims", key) for key in missing]
        details += find_non_finite_numbers(data.claims)
        if data.tx_code is not None:
            if not MIN_LENGTH <= data.tx_code.length <= MAX_LENGTH:
                details.append(
                    ErrorDetail(
                        "body",
                        "transactionCodeConfiguration.length",
                        f"must be {MIN_LENGTH}-{MAX_LENGTH}",
                        data.tx_code.length,
                    )
                )
            if data.tx_code.description and len(data.tx_code.description) > MAX_DESCRIPTION_LENGTH:
                details.append(
                    ErrorDetail(
                        "body",
                        "transactionCodeConfiguration.description",
                        f"must be at most {MAX_DESCRIPTION_LENGTH} characters",
                    )
                )
        ttl = self._default_ttl if data.expires_in is None else data.expires_in.add_to(now) - now
        if data.expires_in is not None and not timedelta(0) < ttl <= self._max_ttl:
            details.append(ErrorDetail("body", "expiresIn", f"must be positive and at most {self._max_ttl}"))
        endpoint_problem = find_credential_offer_endpoint_problem(
            "credentialOfferEndpoint", data.credential_offer_endpoint
        )
        if endpoint_problem is not None:
            details.append(endpoint_problem)
        if details:
            raise ValidationError("Validation Error", details=details)
        return now + ttl

    async def _check_references(
        self, uow: UnitOfWork, tenant_id: str, configuration_ids: list[str], user_id: str | None = None
    ) -> None:
        """Every configuration (and the user, when given) must exist in the tenant."""
        details = []
        for index, configuration_id in enumerate(configuration_ids):
            if await uow.credential_configurations.get(tenant_id, configuration_id) is None:
                details.append(
                    ErrorDetail(
                        "body", f"credentials.{index}", "no credential configuration with this id", configuration_id
                    )
                )
        if user_id is not None and await uow.users.get(tenant_id, user_id) is None:
            details.append(ErrorDetail("body", "userId", "no user with this id", user_id))
        if details:
            raise ValidationError("Validation Error", details=details)

    async def _check_claims(
        self, uow: UnitOfWork, tenant_id: str, data: OfferInput, configurations: TenantConfigurations
    ) -> None:
        """Refuse an offer whose claims cannot give its credentials (see ``offer_claims``): 400 naming each claim."""
        persisted: dict[str, Any] = {}
        if data.user_id is not None:
            user = await uow.users.get(tenant_id, data.user_id)
            persisted = user.claims if user is not None else {}
        prepared = [p for p in map(configurations.get, dict.fromkeys(data.configuration_ids)) if p is not None]
        claims = merge_claim_sources(persisted=persisted, offer=data.claims)
        details = find_offer_claim_problems(prepared, claims)
        if details:
            raise ValidationError("The offer's claims cannot give its credentials", details=details)

    async def _persist_user(self, uow: UnitOfWork, tenant_id: str, data: OfferInput) -> str:
        persisted = {key: data.claims[key] for key in data.claims_to_persist}
        now = self._clock.now()
        if data.user_id is None:
            user = User(id=new_id(), tenant_id=tenant_id, claims=persisted, created_at=now, updated_at=now)
            await uow.users.add(user)
            return user.id
        if persisted:
            existing = await uow.users.get(tenant_id, data.user_id)
            assert existing is not None  # checked by _check_references in this unit of work
            await uow.users.update_claims(tenant_id, data.user_id, {**existing.claims, **persisted}, now)
        return data.user_id

    def _uri(self, tenant: WalletTenant, offer: PreAuthorizedOffer, code: str) -> str:
        endpoint = offer.credential_offer_endpoint
        if offer.by_reference:
            reference_url = tenant.endpoints.credential_offer(self._reference(offer.id))
            return create_offer_uri_by_reference(reference_url, endpoint)
        return create_offer_uri_by_value(self._offer_object(tenant, offer, code), endpoint)

    def _reference(self, offer_id: str) -> str:
        """The ``credential_offer_uri`` path segment: the offer id and a MAC only this issuer can compute."""
        tag = encode_base64url(self._box.mac(OFFER_REFERENCE_MAC, offer_id.encode()))
        return f"{offer_id}.{tag}"

    def _offer_object(self, tenant: WalletTenant, offer: PreAuthorizedOffer, code: str) -> dict[str, Any]:
        return create_pre_authorized_offer(
            credential_issuer=tenant.issuer,
            configuration_ids=offer.credential_configuration_ids,
            pre_authorized_code=code,
            tx_code=offer.tx_code,
        )

    async def create_authorization_code_as(
        self,
        principal: ManagementPrincipal,
        configuration_ids: list[str],
        request_parameters: dict[str, Any],
        credential_offer_endpoint: str | None = None,
    ) -> str:
        """Create a reusable Authorization Code offer; return its URI. Any number of holders may claim it."""
        authorize(principal, OPERATORS)
        details = []
        if not configuration_ids:
            details.append(ErrorDetail("body", "credentials", "must name at least one credential configuration"))
        endpoint_problem = find_credential_offer_endpoint_problem("credentialOfferEndpoint", credential_offer_endpoint)
        if endpoint_problem is not None:
            details.append(endpoint_problem)
        if details:
            raise ValidationError("Validation Error", details=details)
        offer = AuthorizationOffer(
            id=new_id(),
            tenant_id=principal.tenant_id,
            configuration_ids=tuple(dict.fromkeys(configuration_ids)),
            request_parameters=request_parameters,
            issuer_state=new_secret(),
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await self._check_references(uow, principal.tenant_id, configuration_ids)
            endpoint = await _offer_endpoint(uow, principal.tenant_id, credential_offer_endpoint)
            await uow.authorization.add_offer(offer)
            data = {"offerId": offer.id, "credentialConfigurationIds": list(offer.configuration_ids)}
            await uow.events.add(management_event(AUTHORIZATION_OFFER_CREATED, principal, offer.created_at, data))
            await uow.commit()
        tenant = await self._tenants.by_id(principal.tenant_id)
        return create_offer_uri_by_value(
            create_authorization_code_offer(
                credential_issuer=tenant.issuer,
                configuration_ids=offer.configuration_ids,
                issuer_state=offer.issuer_state,
                request_parameters=request_parameters,
            ),
            endpoint,
        )

    async def revoke_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Revoke an unredeemed offer: its code stops working at once."""
        authorize(principal, OPERATORS)
        async with self._uow() as uow:
            revoked = await uow.offers.revoke(principal.tenant_id, id, self._clock.now())
            offer = None if revoked else await uow.offers.get(principal.tenant_id, id)
            if revoked:
                await uow.events.add(management_event(OFFER_REVOKED, principal, self._clock.now(), {"offerId": id}))
            await uow.commit()
        if revoked or (offer is not None and offer.revoked_at is not None):
            return  # deleting a revoked offer again changes nothing (the reference documents 204, 400, 404 only)
        if offer is None:
            raise NotFoundError.for_id(id)
        raise ConflictError(
            "The offer was already redeemed",
            details=[ErrorDetail("params", "id", "already redeemed: its access token is out already", id)],
        )

    async def offer_by_reference(self, tenant: WalletTenant, reference: str) -> dict[str, Any] | None:
        """Return the Credential Offer behind a ``credential_offer_uri`` while it is redeemable (else None).

        DESIGN.md §3: "credential_offer_uri may be fetched any number of times until the offer is redeemed or
        expires"; a reference whose MAC does not verify is treated as unknown.
        """
        offer_id = reference.partition(".")[0]
        if not hmac.compare_digest(reference.encode(), self._reference(offer_id).encode()):
            return None
        offer = await self._store.get_offer(tenant.id, offer_id)
        if offer is None or offer.sealed_code is None or not offer.is_redeemable(self._clock.now()):
            return None
        return self._offer_object(tenant, offer, self._code(offer))

    async def offer_uri_as(self, principal: ManagementPrincipal, id: str) -> str:
        """Return the offer's URI again (for its QR code) while it is redeemable."""
        authorize(principal, OPERATORS)
        async with self._uow(read_only=True) as uow:
            offer = await uow.offers.get(principal.tenant_id, id)
        if offer is None:
            raise NotFoundError.for_id(id)
        if offer.sealed_code is None or not offer.is_redeemable(self._clock.now()):
            raise ConflictError(
                "The offer can no longer be redeemed",
                details=[ErrorDetail("params", "id", "redeemed, revoked, locked or expired", id)],
            )
        return self._uri(await self._tenants.by_id(principal.tenant_id), offer, self._code(offer))

    def _code(self, offer: PreAuthorizedOffer) -> str:
        assert offer.sealed_code is not None
        return self._box.open(offer.sealed_code, aad=_code_aad(offer.id)).decode()


def _offer_events(
    principal: ManagementPrincipal, offer: PreAuthorizedOffer, data: OfferInput, now: datetime
) -> list[Event]:
    """The events of an offer's creation: the offer, and its user created or given persisted claims (names only)."""
    offer_data = {
        "offerId": offer.id,
        "userId": offer.user_id,
        "credentialConfigurationIds": list(offer.credential_configuration_ids),
        "byReference": offer.by_reference,
        "transactionCodeRequired": offer.tx_code is not None,
        "expiresAt": offer.expires_at.isoformat(),
    }
    events = [management_event(OFFER_CREATED, principal, now, offer_data)]
    user = {"userId": offer.user_id, "claimNames": sorted(data.claims_to_persist)}
    if data.user_id is None:
        events.append(management_event(USER_CREATED, principal, now, user))
    elif data.claims_to_persist:
        events.append(management_event(USER_UPDATED, principal, now, user))
    return events
