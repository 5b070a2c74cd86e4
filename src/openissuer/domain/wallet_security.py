"""A tenant's wallet security policy: what its wallet-facing endpoints require beyond OID4VCI's baseline.

``haip`` switches the High Assurance Interoperability Profile on (HAIP 1.0): PAR, PKCE S256, DPoP, wallet
attestation at PAR and the token endpoint, ES256 only; the other flags require one thing each. Trust anchors are
DER certificates: an attestation's ``x5c`` chain must end at one of them (the anchor itself is not in the chain).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class WalletSecurityPolicy:
    """What one tenant requires of wallets (all off by default: OID4VCI 1.0 without HAIP)."""

    haip: bool = False
    dpop_required: bool = False
    client_attestation_required: bool = False
    client_attestation_roots: tuple[bytes, ...] = ()
    key_attestation_roots: tuple[bytes, ...] = ()
    credential_response_encryption_required: bool = False
    updated_at: datetime | None = field(default=None, compare=False)

    @property
    def requires_dpop(self) -> bool:
        """DPoP at the token endpoint, and DPoP-bound tokens at the credential endpoint (HAIP §4.3.1)."""
        return self.haip or self.dpop_required

    @property
    def requires_client_attestation(self) -> bool:
        """Wallet attestation (ABCA) at PAR and the token endpoint (HAIP: client authentication MUST)."""
        return self.haip or self.client_attestation_required

    @property
    def requires_par(self) -> bool:
        """Authorization requests only by ``request_uri`` from PAR (HAIP / FAPI 2.0)."""
        return self.haip

    @property
    def requires_encryption(self) -> bool:
        """Encrypted credential responses (and so encrypted requests, OID4VCI 1.0 §8.3)."""
        return self.credential_response_encryption_required


DEFAULT_POLICY = WalletSecurityPolicy()
