"""DPoP (RFC 9449) at the token and credential endpoints: server nonces and the check of a request's proof.

Server nonces (``DPoP-Nonce``) are stateless like ``c_nonce`` values (``protocol/c_nonce.py``): MAC'd under a key
of the tenant with an expiry, so any worker accepts any worker's nonce and nothing is stored when one is made. A
nonce is not single-use (RFC 9449 §8: it bounds how old a proof can be); a proof's ``jti`` is, and it is used up
in the statement the request already makes (the token redemption, the issuance commit). Every response to a DPoP
request carries a fresh nonce, so a wallet rotates its nonce as it goes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from openissuer.domain.offers import AccessGrant
from openissuer.domain.wallet_security import WalletSecurityPolicy
from openissuer.errors import (
    InvalidDpopProofAtResourceError,
    InvalidDpopProofError,
    InvalidTokenError,
    UseDpopNonceAtResourceError,
    UseDpopNonceError,
)
from openissuer.ports.clock import Clock
from openissuer.ports.secrets import SecretBox
from openissuer.protocol.c_nonce import Mac, create_c_nonce, read_c_nonce
from openissuer.protocol.dpop import DPOP_ALGS, verify_dpop_proof
from openissuer.services.wallet_secrets import digest_secret

DPOP_NONCE_MAC = "dpop-nonce"
DPOP_NONCE_HEADER = "DPoP-Nonce"
FUTURE_SKEW = timedelta(seconds=60)


def dpop_challenge(error: str | None = None) -> str:
    """Return the ``WWW-Authenticate: DPoP`` challenge (RFC 9449 §7.1), with an error code when given."""
    algs = " ".join(DPOP_ALGS)
    return f'DPoP error="{error}", algs="{algs}"' if error else f'DPoP algs="{algs}"'


@dataclass(frozen=True)
class DpopPresentation:
    """A request's verified DPoP proof: its key's thumbprint (``cnf.jkt``), the hash its ``jti`` is used up under
    and until when it must be remembered (as long as the proof could still be accepted)."""

    jkt: str
    jti_digest: bytes
    remember_until: datetime


class DpopService:
    """Make DPoP nonces and check the DPoP proof of a request."""

    def __init__(
        self,
        box: SecretBox,
        clock: Clock,
        *,
        nonce_ttl: timedelta,
        nonce_required: bool,
        max_age: timedelta,
    ) -> None:
        self._box = box
        self._clock = clock
        self._nonce_ttl = nonce_ttl
        self._nonce_required = nonce_required
        self._max_age = max_age

    def create_nonce(self, tenant_id: str) -> str:
        """Return a fresh DPoP nonce of the tenant."""
        return create_c_nonce(self._mac(tenant_id), self._clock.now() + self._nonce_ttl, secrets.token_bytes)

    def verify(
        self,
        tenant_id: str,
        proofs: Sequence[str],
        *,
        method: str,
        url: str,
        access_token: str | None = None,
        at_resource: bool = False,
    ) -> DpopPresentation:
        """Check the one DPoP proof of a request (RFC 9449 §4.3) and its server nonce (§8, §9).

        At the token endpoint errors are 400s; at the credential endpoint (``at_resource``) 401s with a
        ``WWW-Authenticate: DPoP`` challenge (§7.1). A missing or stale nonce is ``use_dpop_nonce`` with a fresh
        one in ``DPoP-Nonce``.
        """
        now = self._clock.now()
        try:
            if len(proofs) != 1:
                raise InvalidDpopProofError("Send exactly one DPoP header")
            proof = verify_dpop_proof(
                proofs[0],
                method=method,
                url=url,
                now=now,
                access_token=access_token,
                max_age=self._max_age,
                future_skew=FUTURE_SKEW,
            )
        except InvalidDpopProofError as exc:
            if not at_resource:
                raise
            raise InvalidDpopProofAtResourceError(
                exc.description, headers={"WWW-Authenticate": dpop_challenge("invalid_dpop_proof")}
            ) from exc
        if self._nonce_required and (
            proof.nonce is None or read_c_nonce(self._mac(tenant_id), proof.nonce, now) is None
        ):
            self._refuse_nonce(tenant_id, at_resource)
        return DpopPresentation(
            jkt=proof.jkt,
            jti_digest=digest_secret(f"dpop-jti\x00{proof.jkt}\x00{proof.jti}"),
            remember_until=now + self._max_age + FUTURE_SKEW,
        )

    def _refuse_nonce(self, tenant_id: str, at_resource: bool) -> None:
        headers = {DPOP_NONCE_HEADER: self.create_nonce(tenant_id)}
        description = "Use the DPoP nonce in the DPoP-Nonce header"
        if at_resource:
            headers["WWW-Authenticate"] = dpop_challenge("use_dpop_nonce")
            raise UseDpopNonceAtResourceError(description, headers=headers)
        raise UseDpopNonceError(description, headers=headers)

    def _mac(self, tenant_id: str) -> Mac:
        box, purpose = self._box, f"{DPOP_NONCE_MAC}/{tenant_id}"
        return lambda data: box.mac(purpose, data)


@dataclass(frozen=True)
class SenderConstraint:
    """How a request presented its access token: the ``Authorization`` scheme (``bearer`` or ``dpop``) and, for
    DPoP, its verified proof."""

    scheme: str
    proof: DpopPresentation | None = None

    @property
    def proof_ids(self) -> tuple[bytes, ...]:
        """The hashes the request's single-use proof ids are used up under."""
        return () if self.proof is None else (self.proof.jti_digest,)


def dpop_replayed() -> InvalidDpopProofAtResourceError:
    """The error of a DPoP proof presented a second time at the credential endpoint."""
    return InvalidDpopProofAtResourceError(
        "The DPoP proof was already used (jti)", headers={"WWW-Authenticate": dpop_challenge("invalid_dpop_proof")}
    )


def verify_sender_constraint(
    grant: AccessGrant, sender: SenderConstraint | None, policy: WalletSecurityPolicy, used: frozenset[bytes]
) -> None:
    """RFC 9449 §7: a DPoP-bound token only with a proof by its key (``cnf.jkt``), never as a Bearer token; an
    unbound token only as Bearer; where the tenant requires DPoP, only bound tokens. 401 with a challenge."""
    dpop = sender is not None and sender.scheme == "dpop" and sender.proof is not None
    if grant.dpop_jkt is not None:
        if not dpop or sender is None or sender.proof is None:
            raise InvalidTokenError(
                "This access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof",
                headers={"WWW-Authenticate": dpop_challenge("invalid_token")},
            )
        if sender.proof.jkt != grant.dpop_jkt:
            raise InvalidDpopProofAtResourceError(
                "The DPoP proof is not signed by the key the access token is bound to",
                headers={"WWW-Authenticate": dpop_challenge("invalid_dpop_proof")},
            )
        if sender.proof.jti_digest in used:
            raise dpop_replayed()
        return
    if dpop:
        raise InvalidTokenError(
            "This access token is not DPoP-bound: send it as Authorization: Bearer",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if policy.requires_dpop:
        raise InvalidTokenError(
            "This issuer requires DPoP-bound access tokens",
            headers={"WWW-Authenticate": dpop_challenge("invalid_token")},
        )
