"""Who a token or PAR request comes from, and what its token will be bound to: the tenant's and the client's
requirements (DPoP, wallet attestation) against what the request presents.

The request's DPoP proof is checked first (``present``), before anything is read; the wallet attestation is checked
once the trust anchors are known (``bind``): the wallet client's own (``clientAttestation.rootCertificates``) when
the request names a registered client, else the tenant's. Every single-use value the request presented (the DPoP
proof's ``jti``, the attestation PoP's ``jti``, an attestation challenge) is returned for the caller to use up in
the statement it makes anyway (the pre-authorized redemption), or in one statement of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from openissuer.domain.authorization import WalletClient
from openissuer.domain.wallet_security import WalletSecurityPolicy
from openissuer.errors import InvalidClientAttestationError, InvalidDpopProofError, OAuthError
from openissuer.ports.clock import Clock
from openissuer.ports.secrets import SecretBox
from openissuer.ports.wallet_store import WalletStore
from openissuer.protocol.c_nonce import Mac, create_c_nonce, read_c_nonce
from openissuer.protocol.client_attestation import verify_client_attestation
from openissuer.services.attestation_status import AttestationStatusService
from openissuer.services.dpop import DpopPresentation, DpopService
from openissuer.services.tenancy import WalletTenant
from openissuer.services.wallet_policy import WalletPolicyService
from openissuer.services.wallet_secrets import digest_secret

CHALLENGE_MAC = "attestation-challenge"
CHALLENGE_TTL = timedelta(minutes=5)
ATTESTATION_HEADER = "oauth-client-attestation"
ATTESTATION_POP_HEADER = "oauth-client-attestation-pop"


@dataclass(frozen=True)
class PresentedCredentials:
    """What a token or PAR request presented: the tenant's policy, its DPoP proof (verified) and its wallet
    attestation with PoP (not yet verified: the anchors depend on the client)."""

    policy: WalletSecurityPolicy
    dpop: DpopPresentation | None = None
    attestation: tuple[str, str] | None = None


@dataclass(frozen=True)
class ClientBinding:
    """What a token is bound to and what the request must use up."""

    client_id: str | None = None
    dpop_jkt: str | None = None
    single_use: tuple[bytes, ...] = ()
    single_use_expire_at: datetime | None = None
    dpop_jti_digest: bytes | None = None
    attested: bool = False


NO_BINDING = ClientBinding()


class WalletAuthService:
    """Check the DPoP proofs and wallet attestations of token and PAR requests; make attestation challenges."""

    def __init__(
        self,
        policies: WalletPolicyService,
        dpop: DpopService,
        store: WalletStore,
        box: SecretBox,
        clock: Clock,
        statuses: AttestationStatusService,
    ) -> None:
        self._policies = policies
        self._dpop = dpop
        self._store = store
        self._box = box
        self._clock = clock
        self._statuses = statuses

    async def policy(self, tenant: WalletTenant) -> WalletSecurityPolicy:
        """Return the tenant's policy (confirmed current within a second)."""
        return await self._policies.recent(tenant.id)

    @property
    def dpop(self) -> DpopService:
        """The DPoP service (nonces for responses)."""
        return self._dpop

    async def present(
        self,
        tenant: WalletTenant,
        *,
        dpop_proofs: Sequence[str],
        attestation: str | None,
        attestation_pop: str | None,
        url: str | None,
    ) -> PresentedCredentials:
        """Read the tenant's policy and check the request's DPoP proof (``url``: the endpoint it is bound to; None:
        DPoP is not taken here)."""
        policy = await self._policies.recent(tenant.id)
        dpop = None
        if dpop_proofs and url is not None:
            dpop = self._dpop.verify(tenant.id, dpop_proofs, method="POST", url=url)
        if (attestation is None) != (attestation_pop is None):
            raise InvalidClientAttestationError(
                "Send both OAuth-Client-Attestation and OAuth-Client-Attestation-PoP, or neither"
            )
        pair = None if attestation is None or attestation_pop is None else (attestation, attestation_pop)
        return PresentedCredentials(policy, dpop, pair)

    async def bind(
        self,
        presented: PresentedCredentials,
        tenant: WalletTenant,
        *,
        client_id: str | None,
        client: WalletClient | None,
        dpop_taken: bool = True,
    ) -> ClientBinding:
        """Apply the tenant's and the client's requirements; verify the attestation against the right anchors.

        ``dpop_taken`` False (PAR) skips the DPoP requirement (the token request proves possession) and binds no
        token; a DPoP proof sent there is still used up (its ``jti``). An attestation with a ``status`` is refused
        unless its status list entry, fetched from the wallet provider, is VALID.
        """
        policy = presented.policy
        dpop = presented.dpop
        client_roots = client.attestation_roots if client is not None else ()
        if dpop_taken and dpop is None and (policy.requires_dpop or (client is not None and client.dpop_required)):
            raise InvalidDpopProofError("A DPoP proof is required (RFC 9449): send a DPoP header")
        single_use: list[bytes] = []
        expire_at: datetime | None = None
        if dpop is not None:
            single_use.append(dpop.jti_digest)
            expire_at = dpop.remember_until
        attested = False
        anchors = client_roots or policy.client_attestation_roots
        # Without anchors this issuer does not offer attest_jwt_client_auth: an attestation sent anyway (some
        # wallets always send one) is ignored rather than refused.
        if presented.attestation is not None and anchors:
            verified = verify_client_attestation(
                *presented.attestation,
                anchors=anchors,
                audience=tenant.issuer,
                now=self._clock.now(),
                client_id=client_id,
            )
            client_id = verified.client_id
            single_use.append(digest_secret(f"attestation-pop\x00{verified.client_id}\x00{verified.pop_jti}"))
            if verified.challenge is not None:
                if read_c_nonce(self._challenge_mac(tenant.id), verified.challenge, self._clock.now()) is None:
                    raise InvalidClientAttestationError("The attestation challenge is unknown or expired")
                single_use.append(digest_secret(f"attestation-challenge\x00{verified.challenge}"))
            if verified.status is not None:
                await self._statuses.check(
                    verified.status, anchors, "client attestation", InvalidClientAttestationError
                )
            remember = self._clock.now() + CHALLENGE_TTL + timedelta(seconds=60)
            expire_at = max(expire_at, remember) if expire_at is not None else remember
            attested = True
        elif policy.requires_client_attestation or client_roots:
            raise InvalidClientAttestationError(
                "Client authentication by wallet attestation is required (OAuth-Client-Attestation and -PoP)"
            )
        return ClientBinding(
            client_id=client_id,
            dpop_jkt=dpop.jkt if dpop is not None and dpop_taken else None,
            single_use=tuple(single_use),
            single_use_expire_at=expire_at,
            dpop_jti_digest=dpop.jti_digest if dpop is not None else None,
            attested=attested,
        )

    async def use_up(self, binding: ClientBinding) -> None:
        """Use the binding's single-use values up in one statement of their own (where no statement takes them)."""
        if not binding.single_use or binding.single_use_expire_at is None:
            return
        taken = await self._store.use_once(binding.single_use, binding.single_use_expire_at)
        if taken:
            raise replay_error(binding, taken)

    def create_challenge(self, tenant_id: str) -> str:
        """Return a fresh attestation challenge (ABCA challenge endpoint): stateless, MAC'd, single-use."""
        return create_c_nonce(self._challenge_mac(tenant_id), self._clock.now() + CHALLENGE_TTL, secrets.token_bytes)

    def _challenge_mac(self, tenant_id: str) -> Mac:
        box, purpose = self._box, f"{CHALLENGE_MAC}/{tenant_id}"
        return lambda data: box.mac(purpose, data)


def replay_error(binding: ClientBinding, taken: frozenset[bytes]) -> OAuthError:
    """The error for single-use values used before: the DPoP proof's, or the attestation's."""
    if binding.dpop_jti_digest is not None and binding.dpop_jti_digest in taken:
        return InvalidDpopProofError("The DPoP proof was already used (jti)")
    return InvalidClientAttestationError("The client attestation PoP or challenge was already used")
