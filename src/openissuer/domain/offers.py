"""Credential offers and what redeeming one grants (OID4VCI 1.0 §4, reference platform §2)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class TxCodeInputMode(enum.StrEnum):
    """OID4VCI ``tx_code.input_mode``."""

    NUMERIC = "numeric"
    TEXT = "text"


@dataclass(frozen=True)
class TxCodeConfiguration:
    """How the wallet asks the holder for the transaction code (the code itself is never stored in clear)."""

    input_mode: TxCodeInputMode = TxCodeInputMode.NUMERIC
    length: int = 6
    description: str | None = None


@dataclass(frozen=True)
class PreAuthorizedOffer:
    """A single-use, short-lived offer. Codes are stored as hashes; ``sealed_code`` lets the offer be shown again
    (by reference, as a QR code) until it is redeemed, revoked or expired, and is wiped then.
    """

    id: str
    tenant_id: str
    user_id: str
    credential_configuration_ids: tuple[str, ...]
    claims: dict[str, Any]
    code_hash: bytes
    sealed_code: bytes | None
    by_reference: bool
    expires_at: datetime
    created_at: datetime
    tx_code: TxCodeConfiguration | None = None
    tx_code_hash: bytes | None = None
    tx_attempts: int = 0
    locked: bool = False
    redeemed_at: datetime | None = None
    claimed_at: datetime | None = None
    revoked_at: datetime | None = None
    credential_offer_endpoint: str | None = None
    """The wallet endpoint its URI was made for (None: the tenant's default), so the QR code shows the same URI."""

    def is_redeemable(self, now: datetime) -> bool:
        """Tell whether the pre-authorized code may still be exchanged for an access token."""
        return self.redeemed_at is None and self.revoked_at is None and not self.locked and now < self.expires_at


@dataclass(frozen=True)
class AccessGrant:
    """What an access token allows: credentials of these configurations for this user, until ``expires_at``.

    ``credential_identifiers`` maps each identifier returned in the token response's ``authorization_details`` to
    its configuration id; empty when the token request carried no ``authorization_details``. ``claims`` are the
    grant's own claims: the offer's (Pre-authorized Code) or the ID token's (Authorization Code), whose provider
    and subject are ``provider_url`` / ``subject_id``. ``offer_id`` is set for pre-authorized offers,
    ``authorization_code_hash`` for tokens from an authorization code (so a replayed code can revoke them).
    ``user_claims`` are the user's persisted claims as they were when the grant was made (None for a grant stored
    before they were kept): every credential of the grant, of every format, is mapped from the same claims.
    ``client_id`` is the wallet client the token was issued to (None: anonymous pre-authorized access);
    ``dpop_jkt`` the RFC 7638 thumbprint of the DPoP key the token is bound to (RFC 9449 §6, ``cnf.jkt``; None:
    a Bearer token).
    """

    token_hash: bytes
    tenant_id: str
    user_id: str
    credential_configuration_ids: tuple[str, ...]
    credential_identifiers: dict[str, str]
    notification_id: str
    claims: dict[str, Any]
    expires_at: datetime
    created_at: datetime
    offer_id: str | None = None
    authorization_code_hash: bytes | None = None
    provider_url: str | None = None
    subject_id: str | None = None
    revoked_at: datetime | None = None
    user_claims: dict[str, Any] | None = None
    client_id: str | None = None
    dpop_jkt: str | None = None


@dataclass(frozen=True)
class GrantState:
    """An access grant with what the credential endpoint reads together with it: the user's persisted claims (as
    the grant keeps them),
    the tenant's configuration version (to tell whether cached configurations are current), how many
    credentials of each configuration were already issued under the grant, and which of the request's nonces
    were already used."""

    grant: AccessGrant
    user_claims: dict[str, Any]
    config_version: int = 0
    issued: dict[str, int] = field(default_factory=dict)
    used_nonces: frozenset[bytes] = frozenset()
