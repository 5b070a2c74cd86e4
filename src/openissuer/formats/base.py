"""The CredentialFormat protocol (DESIGN.md §2) and the small typed values it takes and returns.

A format turns already-mapped claim values into one signed credential. It receives a ``Signer`` (never key
material), the current time and a source of randomness, so every format is a pure synchronous function of its
inputs. Cross-cutting behaviour (status-list index allocation, deferred issuance, audit) wraps a format: the
wrapper passes what it decided (e.g. a ``StatusListReference``) in, the format never decides it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeAlias

from openissuer.crypto.jwk import compute_jwk_thumbprint, parse_p256_public_jwk
from openissuer.crypto.signer import Signer

ClaimValue: TypeAlias = "str | int | float | bool | date | datetime | bytes | list[ClaimValue] | dict[str, ClaimValue]"
"""A mapped claim value; ``date`` is a full-date, ``datetime`` must be timezone-aware."""

NamespacedClaims: TypeAlias = Mapping[str, Mapping[str, ClaimValue]]
"""``{namespace: {claim: value}}``, exactly what ``claims.apply_claim_mappings`` returns."""

RandomBytes: TypeAlias = Callable[[int], bytes]
"""Return n bytes from a CSPRNG (``secrets.token_bytes`` in production, a seeded fake in tests)."""


class UnusableSignerError(ValueError):
    """The Signer cannot sign this format (wrong algorithm, no certificate chain, certificate not valid now).

    An operator problem, not the wallet's: it becomes a logged 500.
    """


@dataclass(frozen=True)
class HolderKey:
    """The holder's proof-of-possession public key, as verified from the proof (a P-256 public JWK)."""

    jwk: Mapping[str, str]

    def __post_init__(self) -> None:
        parse_p256_public_jwk(self.jwk)

    @property
    def thumbprint(self) -> str:
        """The RFC 7638 SHA-256 thumbprint of the key."""
        return compute_jwk_thumbprint(self.jwk)


@dataclass(frozen=True)
class ClaimDisplay:
    """One localised display name of a claim (OID4VCI 1.0 Appendix B.2 ``display``)."""

    name: str
    locale: str | None = None


@dataclass(frozen=True)
class ClaimDescription:
    """A claim the configuration issues: its path (``(namespace, claim)`` for mdoc), whether always present."""

    path: tuple[str, ...]
    mandatory: bool = False
    display: tuple[ClaimDisplay, ...] = ()


@dataclass(frozen=True)
class Branding:
    """How wallets show the credential (reference §4.2 ``branding``, OID4VCI ``credential_metadata.display``)."""

    name: str
    description: str | None = None
    background_color: str | None = None
    text_color: str | None = None
    logo_uri: str | None = None
    logo_alt_text: str | None = None
    background_image_uri: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class FormatConfiguration:
    """What a format needs from a credential configuration; claim values themselves arrive at ``issue``.

    ``credential_type`` is the mdoc ``docType`` (or the SD-JWT ``vct``); ``expires_in`` is the validity relative
    to issuance (reference §4.2 ``expiresIn``).
    """

    credential_type: str
    claims: tuple[ClaimDescription, ...]
    expires_in: timedelta
    branding: Branding | None = None


@dataclass(frozen=True)
class RequestedValidity:
    """Validity bounds mapped from claims (reference §4.2 ``validFrom`` / ``validUntil`` ``mapFrom``)."""

    valid_from: datetime | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True)
class StatusListReference:
    """Where the credential's status lives (IETF Token Status List): list token URI and index."""

    uri: str
    idx: int


@dataclass(frozen=True)
class ElementDigest:
    """The digest the signed structure holds for one claim; the claim value itself is never recorded."""

    digest_id: int
    digest: bytes


@dataclass(frozen=True)
class IssuedCredential:
    """A signed credential and what may be stored about it (reference §5.2: no claim values).

    ``credential`` is the string for the Credential Response. ``credential_hash`` identifies the credential
    (for ``mso_mdoc`` the ``msoHash``). ``digests`` is ``{namespace: {claim: ElementDigest}}``.
    """

    format_id: str
    credential_type: str
    credential: str
    signed_at: datetime
    valid_from: datetime
    valid_until: datetime
    credential_hash: str
    holder_jwk: Mapping[str, str] | None = None
    holder_key_thumbprint: str | None = None
    digests: Mapping[str, Mapping[str, ElementDigest]] = field(default_factory=dict)
    status: StatusListReference | None = None


class CredentialFormat(Protocol):
    """One credential format behind one interface; nothing outside ``formats/`` branches on a format name."""

    @property
    def format_id(self) -> str:
        """The OID4VCI ``format`` identifier, e.g. ``"mso_mdoc"``."""
        ...

    def validate_configuration(self, config: FormatConfiguration) -> None:
        """Raise ``ValidationError`` (with one detail per problem) when the format cannot issue ``config``."""
        ...

    def metadata(self, config: FormatConfiguration) -> dict[str, Any]:
        """Return the entry for ``credential_configurations_supported`` (without the cross-cutting ``scope``)."""
        ...

    def issue(
        self,
        claims: NamespacedClaims,
        holder_key: HolderKey | None,
        config: FormatConfiguration,
        signer: Signer,
        now: datetime,
        *,
        random_bytes: RandomBytes,
        validity: RequestedValidity | None = None,
        status: StatusListReference | None = None,
    ) -> IssuedCredential:
        """Sign one credential over ``claims`` bound to ``holder_key`` at time ``now``."""
        ...
