"""The credential endpoint (OID4VCI 1.0 §8): one issuance pipeline for every format and every tenant.

For one credential request:

1. **read** — in one statement: the tenant's grant of the access token with the user's persisted claims, the
   tenant's configuration version, the credentials already issued under the grant, and which of the proofs'
   ``c_nonce`` values were already used (their MACs and expiry need no lookup);
2. **decide, before any signing** — the token is live; the proofs verify; every nonce is fresh; the configuration
   is known and the token covers it; the credentials stay within the per-grant bound;
3. **prepare** — the configuration and its parsed mappings (cached per configuration version), the claims (with
   the configuration's claims source called, when it has one), the key that signs (from the format's signer kind)
   and, for a configuration with the status switch on, the credentials' status-list entries (one statement
   reserves them: their indexes are in what is signed);
4. **issue** — a pure function of (prepared configuration, holder keys, claims, clock, randomness, signer, status
   entries);
5. **write** — in one statement: the nonces used up, the count reserved under the bound, the records, the offer
   marked claimed.

A lost response is not a lost credential: while its token is live, a wallet may repeat a request, and gets new
credentials, until the grant has obtained ``credentials_per_grant`` of the configuration (every one recorded).
DESIGN.md §3: "A c_nonce is used up on first use, whatever happens after": once the proofs verify, a refused
request still uses its nonces up.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openissuer.claims import (
    MISSING,
    AuthenticatedSubject,
    ClaimsContext,
    apply_claim_mappings,
    merge_claim_sources,
    parse_claim_path,
    resolve_claim_path,
)
from openissuer.claims.claim_type import ClaimTypeError
from openissuer.claims.temporal import coerce_date_time
from openissuer.crypto.jws import CompactJws
from openissuer.domain.events import Event
from openissuer.domain.ids import new_id
from openissuer.domain.issued import IssuedCredentialRecord, StatusReference
from openissuer.domain.offers import AccessGrant, GrantState
from openissuer.domain.pki import SignerKind
from openissuer.domain.status_lists import StatusAllocation, StatusListScope
from openissuer.domain.wallet_security import DEFAULT_POLICY, WalletSecurityPolicy
from openissuer.errors import (
    ClaimMappingError,
    CredentialRequestDeniedError,
    InvalidCredentialRequestError,
    InvalidNonceError,
    InvalidProofError,
    InvalidTokenError,
    IssuerError,
    OAuthError,
    UnknownCredentialConfigurationError,
    UnknownCredentialIdentifierError,
)
from openissuer.formats.base import (
    FormatConfiguration,
    HolderKey,
    IssuedCredential,
    RandomBytes,
    RequestedValidity,
    StatusListReference,
)
from openissuer.ports.clock import Clock
from openissuer.ports.wallet_store import IssuanceWrite, IssuanceWriteOutcome, WalletStore
from openissuer.protocol.credential_request import CredentialRequest, create_credential_response
from openissuer.protocol.legacy_credential_request import LegacySelector, create_legacy_credential_response
from openissuer.protocol.proof import ANONYMOUS, parse_jwt_proof, read_proof_nonce
from openissuer.services.attestation_status import AttestationStatusService
from openissuer.services.claims_source_client import ClaimsSourceAnswer, ClaimsSourceClient
from openissuer.services.configurations import ConfigurationCatalog, PreparedConfiguration
from openissuer.services.dpop import SenderConstraint, dpop_replayed, verify_sender_constraint
from openissuer.services.encryption import verify_encryption_parameters
from openissuer.services.issuance_sessions import session_id_for
from openissuer.services.key_proofs import (
    KeyProofs,
    read_attestation_nonce,
    read_key_attestation_requirement,
    verify_key_attestations_required,
    verify_key_proofs,
)
from openissuer.services.nonces import CheckedNonce, NonceService
from openissuer.services.notifications import notification_id_for
from openissuer.services.signing import CredentialSigners, SelectedSigner
from openissuer.services.status_lists import StatusListAllocator
from openissuer.services.tenancy import WalletTenant
from openissuer.services.wallet_events import (
    claims_source_called,
    credential_issued,
    credential_messages,
    credential_refused,
)
from openissuer.services.wallet_policy import WalletPolicyService
from openissuer.services.wallet_secrets import digest_secret
from openissuer.services.webhooks import WebhookSubscriptions

log = logging.getLogger("openissuer.issuance")
# Used nonces are forgotten once expired, now and then by a request that records credentials, so the table stays
# small without a background job.
PURGE_ONE_IN = 500
BEARER_CHALLENGE = 'Bearer error="invalid_token"'
INVALID_NONCE = "The c_nonce is unknown, used or expired; get a new one from the nonce endpoint"


@dataclass(frozen=True)
class IssuancePlan:
    """Everything about the credentials of one request except the holder keys and the signer."""

    prepared: PreparedConfiguration
    format_configuration: FormatConfiguration
    values: Mapping[str, Any]
    validity: RequestedValidity
    valid_until: datetime


def plan_issuance(
    prepared: PreparedConfiguration,
    claims: Mapping[str, Any],
    subject: AuthenticatedSubject | None,
    now: datetime,
    *,
    issuer: str = "",
) -> IssuancePlan:
    """Map the claims through the configuration (reference §4.4); ``credential_request_denied`` when they do not
    give a credential (a required claim missing, a value that cannot be coerced). ``issuer`` is the credential
    issuer identifier the credentials are issued under."""
    configuration = prepared.configuration
    context = ClaimsContext(claims, subject, prepared.context).to_dict()
    try:
        values = apply_claim_mappings(prepared.mappings, context)
    except ClaimMappingError as exc:
        raise CredentialRequestDeniedError(exc.description, detail=exc.detail) from exc
    validity = RequestedValidity(
        valid_from=_mapped_time(configuration.valid_from_path, context, "validFrom"),
        valid_until=_mapped_time(configuration.valid_until_path, context, "validUntil"),
    )
    format_configuration = prepared.format_configuration(now, issuer)
    expires_in = format_configuration.expires_in
    valid_until = validity.valid_until or (now + expires_in if expires_in is not None else now)
    return IssuancePlan(prepared, format_configuration, values, validity, valid_until)


def sign_credentials(
    plan: IssuancePlan,
    holder_keys: Sequence[HolderKey | None],
    signer: SelectedSigner,
    now: datetime,
    random_bytes: RandomBytes,
    statuses: Sequence[StatusListReference | None] | None = None,
) -> list[IssuedCredential]:
    """Sign one credential per holder key (None: one bearer credential), each with its status-list entry when
    ``statuses`` gives one; nothing is stored.

    Each credential gets its own randomness (salts, digest ids), so the credentials of a batch are unlinkable.
    """
    credential_format = plan.prepared.format
    entries = statuses if statuses is not None else [None] * len(holder_keys)
    return [
        credential_format.issue(
            plan.values,
            holder_key,
            plan.format_configuration,
            signer.signer,
            now,
            random_bytes=random_bytes,
            validity=plan.validity,
            status=status,
        )
        for holder_key, status in zip(holder_keys, entries, strict=True)
    ]


class _StrictClaimsSourceError(Exception):
    """A strict claims source failed: the request is refused, and the call's event recorded with the refusal."""

    def __init__(self, event: Event, reason: str) -> None:
        super().__init__(reason)
        self.event = event
        self.reason = reason


async def _check_key_attestation_statuses(
    proofs: KeyProofs, policy: WalletSecurityPolicy, statuses: AttestationStatusService
) -> None:
    """Refuse a key attestation whose ``status`` entry, in its key store's status list, is not VALID."""
    for attestation in proofs.attestations:
        if attestation is not None and attestation.status is not None:
            await statuses.check(attestation.status, policy.key_attestation_roots, "key attestation", InvalidProofError)


class IssuanceService:
    """Issue credentials to the holder of an access token, in the token's tenant."""

    def __init__(
        self,
        store: WalletStore,
        clock: Clock,
        nonces: NonceService,
        catalog: ConfigurationCatalog,
        signers: Mapping[SignerKind, CredentialSigners],
        *,
        credentials_per_grant: int,
        status_lists: StatusListAllocator | None = None,
        random_bytes: RandomBytes = secrets.token_bytes,
        claims_sources: ClaimsSourceClient | None = None,
        policies: WalletPolicyService | None = None,
        subscriptions: WebhookSubscriptions | None = None,
        attestation_statuses: AttestationStatusService | None = None,
    ) -> None:
        self._store = store
        self._attestation_statuses = attestation_statuses
        self._status_lists = status_lists
        self._nonces = nonces
        self._clock = clock
        self._catalog = catalog
        self._signers = dict(signers)
        self._per_grant = credentials_per_grant
        self._random_bytes = random_bytes
        self._claims_sources = claims_sources
        self._policies = policies
        self._subscriptions = subscriptions

    async def grant_state(self, tenant: WalletTenant, access_token: str | None) -> GrantState:
        """Return the live grant of a bearer token in the tenant; RFC 6750 ``invalid_token`` (401) otherwise."""
        return self._live(await self._store.load_grant(tenant.id, _token_hash(access_token)))

    async def issue_credential(
        self,
        tenant: WalletTenant,
        access_token: str | None,
        request: CredentialRequest | OAuthError,
        sender: SenderConstraint | None = None,
    ) -> dict[str, Any]:
        """Issue one credential per proof (or one bearer credential) and return the Credential Response.

        ``request`` may be the error its parsing raised: it is raised once the token is known to be good.
        ``sender`` is the request's DPoP proof, checked against the token's binding (RFC 9449 §7).
        """
        token_hash = _token_hash(access_token)
        if isinstance(request, OAuthError):
            # The token first, and how it was presented (RFC 9449 §7: a bound token without its key's proof is 401
            # whatever the body says), then the body's error.
            proof_ids = sender.proof_ids if sender is not None else ()
            known = self._live(await self._store.load_grant(tenant.id, token_hash, list(proof_ids)))
            refusal: IssuerError = request
            try:
                verify_sender_constraint(known.grant, sender, await self._policy(tenant, known), known.used_nonces)
            except IssuerError as exc:
                refusal = exc
            await self._store.record_events([credential_refused(known.grant, refusal, self._clock.now())])
            raise refusal
        parsed, proof_error = _parse_proofs(request.jwt_proofs)
        # The nonces' MACs and expiry need no lookup; whether they were used is read with the grant.
        proof_nonces = {read_proof_nonce(p) for p in parsed} | {
            read_attestation_nonce(a) for a in request.attestation_proofs
        }
        checked = {n: self._nonces.verify(tenant.id, n) for n in proof_nonces if n}
        digests = sorted(c.digest for c in checked.values() if c is not None)
        proof_ids = sender.proof_ids if sender is not None else ()
        now = self._clock.now()
        # A DPoP proof's id is remembered as long as the proof could be accepted (RFC 9449 §11.1), which can be
        # longer than its request's nonces live; the used rows are kept until the later of the two.
        kept_until = sender.proof.remember_until if sender is not None and sender.proof is not None else now
        state = self._live(await self._store.load_grant(tenant.id, token_hash, [*digests, *proof_ids]))
        grant = state.grant
        used: list[CheckedNonce] = []
        spent: tuple[bytes, ...] = ()  # the DPoP proof's id, used up by any refusal once the proofs verify
        source_events: tuple[Event, ...] = ()  # the claims source's call, recorded with the outcome
        try:
            policy = await self._policy(tenant, state)
            verify_sender_constraint(grant, sender, policy, state.used_nonces)
            proofs = self._verify_proofs(tenant, grant, parsed, proof_error, request, policy)
            valid = [checked.get(n) for n in proofs.nonces]
            used = [c for c in valid if c is not None]
            spent = proof_ids
            if len(used) != len(valid) or any(c.digest in state.used_nonces for c in used):
                raise InvalidNonceError(INVALID_NONCE)
            if self._attestation_statuses is not None:
                await _check_key_attestation_statuses(proofs, policy, self._attestation_statuses)
            verify_encryption_parameters(request, policy)
            prepared = await self._configuration(tenant, state, request)
            verify_key_attestations_required(proofs, read_key_attestation_requirement(prepared.configuration.options))
            holder_keys = _holder_keys(prepared, list(proofs.keys), request)
            if state.issued.get(prepared.configuration.id, 0) + len(holder_keys) > self._per_grant:
                raise _bound_reached(grant, self._per_grant)
            claims, source_events = await self._claims(state, prepared, now)
            plan = plan_issuance(prepared, claims, _subject(grant), now, issuer=tenant.issuer)
            signer = await self._signer(prepared, tenant, state.config_version, plan.valid_until)
            allocations = await self._allocate(tenant, plan, signer, len(holder_keys))
            statuses = [_status_reference(tenant, prepared, a) for a in allocations]
            issued = sign_credentials(plan, holder_keys, signer, now, self._random_bytes, statuses)
            await self._record(
                grant,
                prepared,
                issued,
                signer,
                used,
                now,
                allocations,
                state.config_version,
                proof_ids,
                source_events,
                kept_until,
            )
        except _StrictClaimsSourceError as refusal:
            denied = CredentialRequestDeniedError(
                "The issuer could not obtain the claims this credential needs", detail=refusal.reason
            )
            await self._refuse(grant, denied, now, used, spent, (refusal.event,), kept_until)
            raise denied from None
        except IssuerError as exc:
            await self._refuse(grant, exc, now, used, spent, source_events, kept_until)
            raise
        log.info(
            "credentials issued",
            extra={"offer_id": grant.offer_id, "count": len(issued), "format": prepared.format.format_id},
        )
        if request.legacy is not None:
            return create_legacy_credential_response(prepared.format.format_id, issued[0].credential)
        notification_id = notification_id_for(grant, prepared.configuration.id)
        return create_credential_response([c.credential for c in issued], notification_id)

    async def _refuse(
        self,
        grant: AccessGrant,
        error: IssuerError,
        now: datetime,
        used: Sequence[CheckedNonce],
        spent: tuple[bytes, ...],
        source_events: tuple[Event, ...],
        spent_kept_until: datetime,
    ) -> None:
        """Record a refusal (and the claims source's call, if one was made): in the same statement as the nonces
        and DPoP proof id it uses up, if any."""
        refused = [*source_events, credential_refused(grant, error, now)]
        if used or spent:
            await self._store.use_nonces(
                [c.digest for c in used] + list(spent),
                _kept_until(used, spent, spent_kept_until, now),
                events=refused,
            )
        else:
            await self._store.record_events(refused)

    async def _claims(
        self, state: GrantState, prepared: PreparedConfiguration, now: datetime
    ) -> tuple[dict[str, Any], tuple[Event, ...]]:
        """Reference §4.4: persisted user claims < the offer's (pre-authorized) or the ID token's (overlaid by the
        interaction hook's when the sign-in went through one) < the configuration's claims source, called with the
        claims merged so far. §6.4: a source that fails is logged and gives nothing, unless it is ``strict``.

        Also return the event of the source's call, if there was one: the caller writes it with the issuance or
        with the refusal (never the claims, only the ids and the reason of a failure)."""
        layers = _claim_layers(state)
        claims = merge_claim_sources(**layers)
        configuration = prepared.configuration
        if configuration.claim_source_id is None:
            return claims, ()
        source = prepared.claim_source
        if source is None or self._claims_sources is None:
            answer = ClaimsSourceAnswer(failure="the claims source no longer exists")
        else:
            context = {"claims": claims, "credentialConfiguration": prepared.context}
            answer = await self._claims_sources.fetch(source, context)
        strict = source is not None and source.strict
        event = claims_source_called(state.grant, configuration.id, configuration.claim_source_id, answer.failure, now)
        if answer.failure is None:
            return merge_claim_sources(**layers, claims_source=answer.claims), (event,)
        log.warning(
            "claims source failed",
            extra={
                "claim_source_id": configuration.claim_source_id,
                "configuration_id": configuration.id,
                "tenant_id": configuration.tenant_id,
                "reason": answer.failure,
                "strict": strict,
            },
        )
        if strict:
            raise _StrictClaimsSourceError(event, answer.failure)
        return claims, (event,)

    def _live(self, state: GrantState | None) -> GrantState:
        if state is None or state.grant.revoked_at is not None or self._clock.now() >= state.grant.expires_at:
            raise InvalidTokenError(
                "The access token is invalid, expired or revoked", headers={"WWW-Authenticate": BEARER_CHALLENGE}
            )
        return state

    async def _configuration(
        self, tenant: WalletTenant, state: GrantState, request: CredentialRequest
    ) -> PreparedConfiguration:
        """§8.2: ``credential_identifier`` iff the token response carried identifiers, else the configuration id.

        DESIGN.md §3: known but not covered -> ``credential_request_denied``; unknown -> ``unknown_...``.
        """
        grant = state.grant
        if request.legacy is not None:
            return await self._legacy_configuration(tenant, state, request.legacy)
        if grant.credential_identifiers:
            if request.credential_identifier is None:
                raise InvalidCredentialRequestError("Use a credential_identifier from the token response")
            configuration_id = grant.credential_identifiers.get(request.credential_identifier)
            if configuration_id is None:
                raise UnknownCredentialIdentifierError("Unknown credential_identifier")
        elif request.credential_configuration_id is None:
            raise InvalidCredentialRequestError("credential_identifier is only valid after authorization_details")
        else:
            configuration_id = request.credential_configuration_id
        configurations = await self._catalog.at_version(tenant.id, state.config_version)
        prepared = configurations.get(configuration_id)
        if prepared is None:
            raise UnknownCredentialConfigurationError("Unknown credential configuration")
        if configuration_id not in grant.credential_configuration_ids:
            raise CredentialRequestDeniedError("The access token does not cover this credential configuration")
        return prepared

    async def _legacy_configuration(
        self, tenant: WalletTenant, state: GrantState, selector: LegacySelector
    ) -> PreparedConfiguration:
        """The configuration a draft-era request names by format and type: the one the token covers, if any."""
        configurations = await self._catalog.at_version(tenant.id, state.config_version)
        matching = [cid for cid, entry in configurations.metadata_entries.items() if selector.matches_entry(entry)]
        covered = [cid for cid in matching if cid in state.grant.credential_configuration_ids]
        if not matching:
            raise UnknownCredentialConfigurationError("No credential configuration has this format and type")
        if not covered:
            raise CredentialRequestDeniedError("The access token does not cover this credential configuration")
        prepared = configurations.get(covered[0])
        assert prepared is not None
        return prepared

    async def _policy(self, tenant: WalletTenant, state: GrantState) -> WalletSecurityPolicy:
        """The tenant's wallet security policy at the configuration version read with the grant."""
        if self._policies is None:
            return DEFAULT_POLICY
        return await self._policies.at_version(tenant.id, state.config_version)

    def _verify_proofs(
        self,
        tenant: WalletTenant,
        grant: AccessGrant,
        parsed: Sequence[CompactJws],
        proof_error: InvalidProofError | None,
        request: CredentialRequest,
        policy: WalletSecurityPolicy,
    ) -> KeyProofs:
        """Verify every proof (Appendix F.1, F.3, D.1); return their keys, nonces and key attestations.

        F.1: the proof's ``iss`` is the token's client, and absent for anonymous pre-authorized access."""
        if proof_error is not None:
            raise proof_error
        return verify_key_proofs(
            parsed,
            request.attestation_proofs,
            audience=tenant.issuer,
            client_id=grant.client_id or ANONYMOUS,
            now=self._clock.now(),
            anchors=policy.key_attestation_roots,
        )

    async def _signer(
        self, prepared: PreparedConfiguration, tenant: WalletTenant, version: int, valid_until: datetime
    ) -> SelectedSigner:
        return await self._signers[prepared.format.signer_kind].signer_for(tenant.id, version, valid_until)

    async def _allocate(
        self, tenant: WalletTenant, plan: IssuancePlan, signer: SelectedSigner, count: int
    ) -> list[StatusAllocation | None]:
        """Take the credentials' status-list entries when the configuration's status switch is on, on the lists of
        the credential type and of the authority that certified the signer: from the process's reserved block
        (no statement), or one statement when the block is used up; nothing for other configurations."""
        kind = plan.prepared.format.schema.status_list
        if not plan.format_configuration.include_status or kind is None:
            return [None] * count
        if self._status_lists is None:
            raise CredentialRequestDeniedError("The issuer cannot issue revocable credentials", detail="no allocator")
        scope = StatusListScope(plan.format_configuration.credential_type, signer.authority_id or "")
        return list(await self._status_lists.allocate(tenant.id, kind, count, scope))

    async def _record(
        self,
        grant: AccessGrant,
        prepared: PreparedConfiguration,
        issued: Sequence[IssuedCredential],
        signer: SelectedSigner,
        nonces: Sequence[CheckedNonce],
        now: datetime,
        allocations: Sequence[StatusAllocation | None],
        version: int,
        proof_ids: tuple[bytes, ...] = (),
        source_events: tuple[Event, ...] = (),
        proof_ids_kept_until: datetime | None = None,
    ) -> None:
        """Use the nonces (and DPoP proof ids) up, count the credentials under the bound and store the records, with
        the events (the claims source's call, if any, and the issuance) and the webhook messages: one statement.
        The credential goes into a message only if a webhook wants it."""
        records = tuple(
            _record(grant, prepared, credential, signer, allocation)
            for credential, allocation in zip(issued, allocations, strict=True)
        )
        subscribed = frozenset[str]()
        if self._subscriptions is not None:
            subscribed = await self._subscriptions.at_version(grant.tenant_id, version)
        configuration_id, profile = prepared.configuration.id, prepared.format.profile
        outcome = await self._store.commit_issuance(
            IssuanceWrite(
                tenant_id=grant.tenant_id,
                token_hash=grant.token_hash,
                configuration_id=prepared.configuration.id,
                bound=self._per_grant,
                nonce_hashes=tuple(c.digest for c in nonces),
                nonces_expire_at=_kept_until(nonces, proof_ids, proof_ids_kept_until or now, now),
                records=records,
                offer_id=grant.offer_id,
                now=now,
                proof_ids=proof_ids,
                events=(*source_events, credential_issued(grant, configuration_id, profile, records, now)),
                messages=credential_messages(grant, configuration_id, profile, issued, records, subscribed, now),
            )
        )
        if outcome is IssuanceWriteOutcome.PROOF_REPLAYED:
            raise dpop_replayed()
        if outcome is IssuanceWriteOutcome.NONCE_USED:
            raise InvalidNonceError(INVALID_NONCE, detail="used by a concurrent request")
        if outcome is IssuanceWriteOutcome.BOUND_REACHED:
            raise _bound_reached(grant, self._per_grant)
        if secrets.randbelow(PURGE_ONE_IN) == 0:
            await self._store.purge_used_nonces(now)


def _kept_until(
    nonces: Sequence[CheckedNonce], proof_ids: Sequence[bytes], proof_ids_kept_until: datetime, now: datetime
) -> datetime:
    """Until when the used rows of a request are kept: the latest of its nonces' expiry and, when it carries DPoP
    proof ids, the time their proof stops being accepted."""
    until = max((c.expires_at for c in nonces), default=now)
    return max(until, proof_ids_kept_until) if proof_ids else until


def _token_hash(access_token: str | None) -> bytes:
    if not access_token:
        raise InvalidTokenError("An access token is required", headers={"WWW-Authenticate": "Bearer"})
    return digest_secret(access_token)


def _parse_proofs(proofs: Sequence[str]) -> tuple[list[CompactJws], InvalidProofError | None]:
    """Decode the proofs (to look their nonces up in the same read as the grant); a malformed one is reported only
    after the token was checked, so an unauthenticated caller learns nothing from it."""
    parsed: list[CompactJws] = []
    for proof in proofs:
        try:
            parsed.append(parse_jwt_proof(proof))
        except InvalidProofError as exc:
            return [], exc
    return parsed, None


def _holder_keys(
    prepared: PreparedConfiguration, keys: list[HolderKey], request: CredentialRequest
) -> list[HolderKey | None]:
    """The keys to bind one credential each to; ``[None]`` (one bearer credential) for a format that binds none,
    whose proofs, when sent, were checked but are not bound."""
    if not prepared.format.binds_holder:
        return [None]
    if not keys:
        if request.attestation_proofs:
            raise InvalidProofError("The key attestation attests no key")
        hint = " (the singular proof parameter is not part of OID4VCI 1.0)" if request.singular_proof else ""
        raise InvalidProofError("proofs is required: this credential is bound to a holder key" + hint)
    return list(keys)


def _bound_reached(grant: AccessGrant, bound: int) -> CredentialRequestDeniedError:
    return CredentialRequestDeniedError(
        "This access token has obtained all the credentials of this configuration it may",
        detail=f"offer {grant.offer_id}: bound of {bound} credentials per grant and configuration",
    )


def _claim_layers(state: GrantState) -> dict[str, Mapping[str, Any]]:
    """The grant's claim sources by precedence name: the user's persisted claims, and the offer's (pre-authorized)
    or the ID token's (an Authorization Code grant's claims are the ID token's overlaid by the hook's)."""
    if state.grant.offer_id is not None:
        return {"persisted": state.user_claims, "offer": state.grant.claims}
    return {"persisted": state.user_claims, "id_token": state.grant.claims}


def _subject(grant: AccessGrant) -> AuthenticatedSubject | None:
    if grant.provider_url is None or grant.subject_id is None:
        return None
    return AuthenticatedSubject(grant.provider_url, grant.subject_id)


def _mapped_time(path: str | None, context: Mapping[str, Any], field: str) -> datetime | None:
    if path is None:
        return None
    value = resolve_claim_path(parse_claim_path(path), context)
    if value is MISSING:
        return None
    try:
        return coerce_date_time(value)
    except ClaimTypeError as exc:
        raise CredentialRequestDeniedError(f"The {field} claim is not a date-time", detail=str(exc)) from exc


def _status_reference(
    tenant: WalletTenant, prepared: PreparedConfiguration, allocation: StatusAllocation | None
) -> StatusListReference | None:
    kind = prepared.format.schema.status_list
    if allocation is None or kind is None:
        return None
    return StatusListReference(uri=kind.list_url(tenant.issuer, allocation.list_id), idx=allocation.index)


def _record(
    grant: AccessGrant,
    prepared: PreparedConfiguration,
    credential: IssuedCredential,
    signer: SelectedSigner,
    allocation: StatusAllocation | None,
) -> IssuedCredentialRecord:
    configuration = prepared.configuration
    return IssuedCredentialRecord(
        id=credential.credential_id or new_id(),
        tenant_id=grant.tenant_id,
        configuration_id=configuration.id,
        format=credential.format_id,
        profile=prepared.format.profile,
        credential_type=credential.credential_type,
        issued_at=credential.signed_at,
        valid_from=credential.valid_from,
        valid_until=credential.valid_until,
        user_id=grant.user_id,
        offer_id=grant.offer_id,
        signer_id=signer.signer_id,
        holder_key_thumbprint=credential.holder_key_thumbprint,
        status_reference=None if allocation is None else StatusReference(allocation.list_id, allocation.index),
        details=dict(credential.details),
        session_id=session_id_for(grant),
    )
