"""The credential endpoint (OID4VCI 1.0 §8): check the token, the request and the proofs, then issue.

Order of checks: token, request shape, which configuration, proofs (signature, audience, freshness), nonces
(used up at once), then signing; the issuance is recorded in one transaction whose unique marker makes a second
issuance for the same grant and configuration impossible, even from two processes at once.
"""

from __future__ import annotations

import logging
from typing import Any

from openissuer.claims import AuthenticatedSubject, merge_claim_sources
from openissuer.domain.offers import AccessGrant, IssuanceContext
from openissuer.errors import (
    CredentialRequestDeniedError,
    InvalidCredentialRequestError,
    InvalidNonceError,
    InvalidProofError,
    InvalidTokenError,
    UnknownCredentialConfigurationError,
    UnknownCredentialIdentifierError,
)
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.protocol.credential_request import CredentialRequest, create_credential_response
from openissuer.protocol.endpoints import IssuerEndpoints
from openissuer.protocol.proof import VerifiedProof, verify_jwt_proof
from openissuer.services.document_signers import DocumentSignerService
from openissuer.services.mdoc_issuance import MdocIssuanceRequest, MdocIssuanceService
from openissuer.services.nonces import INVALID_NONCE, NonceService
from openissuer.services.wallet_secrets import digest_secret

log = logging.getLogger("openissuer.credentials")
BEARER_CHALLENGE = 'Bearer error="invalid_token"'


class CredentialService:
    """Issue credentials to the holder of an access token."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        endpoints: IssuerEndpoints,
        nonces: NonceService,
        mdocs: MdocIssuanceService,
        signers: DocumentSignerService,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._endpoints = endpoints
        self._nonces = nonces
        self._mdocs = mdocs
        self._signers = signers

    async def grant_for(self, access_token: str | None) -> IssuanceContext:
        """Return the live grant of a bearer token; RFC 6750 ``invalid_token`` (401) otherwise."""
        if not access_token:
            raise InvalidTokenError("An access token is required", headers={"WWW-Authenticate": "Bearer"})
        async with self._uow(read_only=True) as uow:
            context = await uow.access_grants.get_context(digest_secret(access_token))
        now = self._clock.now()
        if context is None or context.grant.revoked_at is not None or now >= context.grant.expires_at:
            raise InvalidTokenError(
                "The access token is invalid, expired or revoked", headers={"WWW-Authenticate": BEARER_CHALLENGE}
            )
        return context

    async def issue_credential(self, context: IssuanceContext, request: CredentialRequest) -> dict[str, Any]:
        """Issue one credential per proof and return the Credential Response."""
        grant = context.grant
        configuration_id = await self._configuration_id(grant, request)
        proofs = [self._verify(proof) for proof in request.jwt_proofs]
        # One unit of work uses the nonces up (committed whatever happens next) and reads what signing needs.
        async with self._uow() as uow:
            fresh = await self._nonces.consume_in(uow, {p.nonce for p in proofs if p.nonce}, grant.tenant_id)
            configuration = await uow.mobile_configurations.get(grant.tenant_id, configuration_id)
            candidates = await self._signers.load_candidates(uow, grant.tenant_id)
            await uow.commit()
        if not fresh:
            raise InvalidNonceError(INVALID_NONCE)
        if len({_key_id(p.jwk) for p in proofs}) != len(proofs):
            raise InvalidProofError("Each proof in a batch must use a different key")
        if configuration is None:
            raise UnknownCredentialConfigurationError("Unknown credential configuration")
        issuance_request = MdocIssuanceRequest(
            tenant_id=grant.tenant_id,
            configuration_id=configuration_id,
            claims=_claims(context),
            authentication_provider=None
            if grant.provider_url is None or grant.subject_id is None
            else AuthenticatedSubject(grant.provider_url, grant.subject_id),
            user_id=grant.user_id,
            offer_id=grant.offer_id,
        )
        issued = await self._mdocs.sign(
            configuration, issuance_request, holder_jwks=[p.jwk for p in proofs], signer_candidates=candidates
        )
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.access_grants.record_issuance(grant.token_hash, configuration_id, now):
                raise CredentialRequestDeniedError(
                    "The credentials of this offer were already issued", detail=f"offer {grant.offer_id}"
                )
            for issuance in issued:
                await uow.issued_credentials.add(issuance.record)
            if grant.offer_id is not None:
                await uow.offers.mark_claimed(grant.tenant_id, grant.offer_id, now)
            await uow.commit()
        log.info("credentials issued", extra={"offer_id": grant.offer_id, "count": len(issued)})
        return create_credential_response([i.credential.credential for i in issued], grant.notification_id)

    async def _configuration_id(self, grant: AccessGrant, request: CredentialRequest) -> str:
        """§8.2: ``credential_identifier`` iff the token response carried identifiers, else the configuration id."""
        if grant.credential_identifiers:
            if request.credential_identifier is None:
                raise InvalidCredentialRequestError("Use a credential_identifier from the token response")
            configuration_id = grant.credential_identifiers.get(request.credential_identifier)
            if configuration_id is None:
                raise UnknownCredentialIdentifierError("Unknown credential_identifier")
            return configuration_id
        if request.credential_configuration_id is None:
            raise InvalidCredentialRequestError("credential_identifier is only valid after authorization_details")
        configuration_id = request.credential_configuration_id
        if configuration_id not in grant.credential_configuration_ids:
            # DESIGN.md §3: known but not covered -> credential_request_denied; unknown -> unknown_...
            await self._mdocs.load_configuration(grant.tenant_id, configuration_id)
            raise CredentialRequestDeniedError("The access token does not cover this credential configuration")
        return configuration_id

    def _verify(self, proof: str) -> VerifiedProof:
        verified = verify_jwt_proof(proof, audience=self._endpoints.issuer, now=self._clock.now())
        if verified.nonce is None:
            raise InvalidProofError("The proof must contain the c_nonce from the nonce endpoint")
        return verified


def _claims(context: IssuanceContext) -> dict[str, Any]:
    """Reference §4.4: persisted user claims, overridden by the offer's (pre-authorized) or the ID token's."""
    if context.grant.offer_id is not None:
        return merge_claim_sources(persisted=context.user_claims, offer=context.grant.claims)
    return merge_claim_sources(persisted=context.user_claims, id_token=context.grant.claims)


def _key_id(jwk: dict[str, str]) -> tuple[str, str]:
    return jwk.get("x", ""), jwk.get("y", "")
