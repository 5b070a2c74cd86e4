"""Compact credentials (the reference platform's CWT profile, §9): their claims as the API shows them, and why one
fails verification.

The JSON view (``decoded`` in the APIs) names the standard claims ``iss``, ``sub``, ``aud``, ``exp``, ``nbf``,
``iat``, ``jti`` (the ``cti`` bytes, base64url), ``type`` and ``status`` ``{index, url}``, next to the custom claims
under their own names. Custom claim values are strings, numbers or booleans.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

CustomClaimValue = str | int | float | bool
RESERVED_CLAIM_NAMES = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cti", "type", "status"})
"""Names of the JSON view's standard claims; no custom claim may have one."""


class VerificationFailure(enum.StrEnum):
    """Why a compact credential does not verify (``error.type`` of ``/verify``; the reference's verifier library's
    reasons, plus revocation and resolution)."""

    PAYLOAD_INVALID = "PayloadInvalid"
    UNSUPPORTED_ALGORITHM = "UnsupportedAlgorithm"
    ISSUER_NOT_TRUSTED = "IssuerNotTrusted"
    ISSUER_NOT_RESOLVABLE = "IssuerNotResolvable"
    ISSUER_PUBLIC_KEY_INVALID = "IssuerPublicKeyInvalid"
    SIGNATURE_INVALID = "SignatureInvalid"
    NOT_ACTIVE = "NotActive"
    EXPIRED = "Expired"
    REVOKED = "Revoked"
    REVOCATION_STATUS_UNKNOWN = "RevocationStatusUnknown"


class CompactCredentialError(ValueError):
    """A compact credential is malformed, unsupported or not signed by the key given; ``failure`` says which."""

    def __init__(self, failure: VerificationFailure, message: str) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message


@dataclass(frozen=True)
class CompactStatus:
    """Where a revocable credential's revocation bit lives: a list URL and the index in it."""

    index: int
    url: str


@dataclass(frozen=True)
class CompactClaims:
    """The claims of one compact credential; times are seconds since the epoch."""

    issuer: str
    token_id: bytes
    credential_type: str | None = None
    issued_at: int | None = None
    not_before: int | None = None
    expires_at: int | None = None
    subject: str | None = None
    audience: str | None = None
    status: CompactStatus | None = None
    custom: Mapping[str, CustomClaimValue] = field(default_factory=dict)

    def to_json(self, token_id_text: str) -> dict[str, object]:
        """Return the JSON view (``decoded``); ``token_id_text`` is the ``jti`` (``cti`` as base64url)."""
        view: dict[str, object] = {"iss": self.issuer}
        for name, value in (
            ("sub", self.subject),
            ("aud", self.audience),
            ("nbf", self.not_before),
            ("exp", self.expires_at),
            ("iat", self.issued_at),
            ("type", self.credential_type),
        ):
            if value is not None:
                view[name] = value
        view.update(self.custom)
        if self.status is not None:
            view["status"] = {"index": self.status.index, "url": self.status.url}
        view["jti"] = token_id_text
        return view


@dataclass(frozen=True)
class CompactCredential:
    """A decoded compact credential whose structure was checked, its signature not yet.

    ``kid`` is the protected header's key id as text; ``message`` the COSE_Sign1 bytes the signature is checked on.
    """

    kid: str
    claims: CompactClaims
    jti: str
    message: bytes

    def to_json(self) -> dict[str, object]:
        """Return the JSON view of the claims."""
        return self.claims.to_json(self.jti)


@dataclass(frozen=True)
class RevocationListDocument:
    """A decoded revocation list (signature not yet checked): who signed it with which key, which list it is,
    when it was made and until when it may be used, and its bitstring (bit ``i`` set = entry ``i`` revoked)."""

    kid: str
    issuer: str
    url: str
    issued_at: int
    expires_at: int
    bitstring: bytes
    message: bytes

    def is_revoked(self, index: int) -> bool:
        """Tell whether entry ``index`` is set (bit ``7 - index % 8`` of byte ``index // 8``); past the end: no."""
        byte = index // 8
        return byte < len(self.bitstring) and bool(self.bitstring[byte] & (0x80 >> (index % 8)))
