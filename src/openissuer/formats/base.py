"""The CredentialFormat protocol (DESIGN.md §2) and the small typed values it takes and returns.

A format turns already-mapped claim values into one signed credential. It receives a ``Signer`` (never key
material), the current time and a source of randomness, so every format is a pure synchronous function of its
inputs. It also describes itself to the rest of the issuer: its management API resource (``profile``,
``schema``), its metadata entry, whether it binds to a holder key and which kind of key signs it. Cross-cutting
behaviour (status-list index allocation, deferred issuance, audit) wraps a format: the wrapper passes what it
decided (e.g. a ``StatusListReference``) in, the format never decides it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeAlias, runtime_checkable

from openissuer.crypto.p256_public_key import P256PublicKey
from openissuer.crypto.signer import Signer
from openissuer.domain.branding import Branding
from openissuer.domain.pki import SignerKind
from openissuer.domain.status_lists import StatusListKind
from openissuer.errors import ErrorDetail

ClaimValue: TypeAlias = "str | int | float | bool | date | datetime | bytes | list[ClaimValue] | dict[str, ClaimValue]"
"""A mapped claim value; ``date`` is a full-date, ``datetime`` must be timezone-aware."""

MappedClaims: TypeAlias = Mapping[str, Any]
"""What ``claims.apply_claim_mappings`` returns: ``{namespace: {claim: value}}`` for a format whose schema has
``claims_namespaced``, else ``{claim: value}``."""

RandomBytes: TypeAlias = Callable[[int], bytes]
"""Return n bytes from a CSPRNG (``secrets.token_bytes`` in production, a seeded fake in tests)."""


class UnusableSignerError(ValueError):
    """The Signer cannot sign this format (wrong algorithm, no certificate chain, certificate not valid now).

    An operator problem, not the wallet's: it becomes a logged 500.
    """


HolderKey: TypeAlias = P256PublicKey
"""The holder's proof-of-possession public key, as the verified proof gave it: decoded and checked on the curve once
(``protocol.proof.verify_jwt_proof``), with its JWK, COSE_Key and thumbprint derived from that one decoding.
``HolderKey.from_jwk(jwk)`` makes one from a JWK (raises ``JwkError`` when it is not a P-256 public key)."""


@dataclass(frozen=True)
class ConfigurationOption:
    """A configuration field only this format has, under its wire name: its JSON Schema and its default."""

    json_schema: Mapping[str, Any]
    default: Any = None


@dataclass(frozen=True)
class ConfigurationSchema:
    """How the format's configurations look on the management API (the reference's per-format resources).

    ``type_field`` is the wire name of the credential type (``type``, ``vct``); ``claims_namespaced`` whether
    ``claimMappings`` is ``{namespace: {claim: mapping}}`` or ``{claim: mapping}``; ``status_field`` the wire
    name of the switch that makes credentials revocable (None: no such switch) and ``status_default`` its default;
    ``validity_mapping`` whether ``validFrom`` / ``validUntil`` may be mapped from claims; ``options`` the fields
    only this format has. ``claim_paths`` (flat mappings only) makes claim names positions in a nested credential
    (``address.locality``, ``nationalities[*]``); ``claim_flags`` are boolean fields the format reads per claim
    (e.g. ``selectivelyDisclosable``), which arrive as ``ClaimDescription.flags``; ``status_list`` the kind of status
    list the pipeline puts the credentials of a configuration with the status switch on (None: the format has no
    status lists yet, so the switch is refused).
    """

    type_field: str = "type"
    type_description: str = "The credential type, unique among the tenant's configurations of this format."
    claims_namespaced: bool = False
    status_field: str | None = None
    status_default: bool = False
    validity_mapping: bool = False
    expires_in_required: bool = True
    options: Mapping[str, ConfigurationOption] = field(default_factory=dict)
    claim_paths: bool = False
    claim_flags: tuple[str, ...] = ()
    status_list: StatusListKind | None = None


@dataclass(frozen=True)
class ClaimDisplay:
    """One localised display name of a claim (OID4VCI 1.0 Appendix B.2 ``display``)."""

    name: str
    locale: str | None = None


ClaimPathPointer: TypeAlias = tuple[str | int | None, ...]
"""An OID4VCI claims path pointer (Appendix C): keys, array positions, ``None`` for every element."""


@dataclass(frozen=True)
class ClaimDescription:
    """A claim the configuration issues: its path (``(namespace, claim)`` when namespaced, the parsed claim name
    when the schema has ``claim_paths``), whether it is always present, whether it is read from the claims
    (``mapped``), the type it is coerced to (``value_type``) and the JSON type of its ``defaultValue``
    (``default_type``, None without one). ``flags`` are the schema's ``claim_flags`` the configuration set for it;
    ``flags_only`` marks an entry that carries no value, only flags (a container that other claims fill, or every
    element of an array)."""

    path: ClaimPathPointer
    mandatory: bool = False
    display: tuple[ClaimDisplay, ...] = ()
    mapped: bool = False
    value_type: str | None = None
    default_type: str | None = None
    flags: tuple[tuple[str, bool], ...] = ()
    flags_only: bool = False

    def flag(self, name: str) -> bool | None:
        """Return the flag's configured value, or None when it was not set."""
        return next((value for key, value in self.flags if key == name), None)


@dataclass(frozen=True)
class FormatConfiguration:
    """What a format needs from a credential configuration; claim values themselves arrive at ``issue``.

    ``expires_in`` is the validity relative to issuance (None when the configuration sets none); ``options`` are
    the format's own fields (see ``ConfigurationSchema.options``), defaults filled in. ``issuer`` is the credential
    issuer identifier of the tenant issuing (OID4VCI ``credential_issuer``, an SD-JWT VC's ``iss``); empty where
    no issuance is under way (metadata).
    """

    credential_type: str
    claims: tuple[ClaimDescription, ...]
    expires_in: timedelta | None
    branding: Branding | None = None
    include_status: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    issuer: str = ""


@dataclass(frozen=True)
class RequestedValidity:
    """Validity bounds mapped from claims (reference §4.2 ``validFrom`` / ``validUntil`` ``mapFrom``)."""

    valid_from: datetime | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True)
class StatusListReference:
    """Where the credential's status lives, as the pipeline allocated it: the list's public URI and the index."""

    uri: str
    idx: int


@dataclass(frozen=True)
class IssuedCredential:
    """A signed credential and what may be stored about it (reference §5.2: no claim values).

    ``credential`` is the value for the Credential Response. ``details`` is the format's part of the issued-
    credential record, plain JSON data (e.g. digests, never values). ``holder_key_thumbprint`` is None for a
    bearer credential. ``credential_id``, when the format gives one, is the record's id (a CWT's ``jti``, which the
    reference's revocation API addresses it by); otherwise the pipeline makes one.
    """

    format_id: str
    credential_type: str
    credential: str
    signed_at: datetime
    valid_from: datetime
    valid_until: datetime
    holder_key_thumbprint: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    status: StatusListReference | None = None
    credential_id: str | None = None


class CredentialFormat(Protocol):
    """One credential format behind one interface; nothing outside ``formats/`` branches on a format name."""

    @property
    def format_id(self) -> str:
        """The OID4VCI ``format`` identifier, e.g. ``"mso_mdoc"``."""
        ...

    @property
    def profile(self) -> str:
        """The reference platform's name of the format (``mobile``, ``compact``, ...): the management API path
        segment ``/v2/credentials/<profile>/configurations`` and the ``profile`` of issued-credential records."""
        ...

    @property
    def schema(self) -> ConfigurationSchema:
        """The shape of the format's configurations on the management API."""
        ...

    @property
    def binds_holder(self) -> bool:
        """Whether a credential is bound to a holder key, so the credential request must carry proofs."""
        ...

    @property
    def signer_kind(self) -> SignerKind:
        """Which kind of key signs the format's credentials."""
        ...

    def validate_configuration(self, config: FormatConfiguration) -> list[ErrorDetail]:
        """Return every problem that keeps the format from issuing ``config`` (empty when none), with the wire
        names of the fields (``type``, ``claimMappings.<path>``, ``expiresIn``, ...)."""
        ...

    def scope(self, config: FormatConfiguration) -> str:
        """Return the OAuth scope a wallet uses to ask for this configuration in the Authorization Code flow."""
        ...

    def metadata(self, config: FormatConfiguration) -> dict[str, Any]:
        """Return the entry for ``credential_configurations_supported`` (without the cross-cutting ``scope``)."""
        ...

    def issuer_metadata(self, issuer: str) -> dict[str, Any]:
        """Return members the issuer metadata carries while the tenant (credential issuer ``issuer``) has a
        configuration of this format, e.g. ``mdoc_iacas_uri``; empty when none."""
        ...

    def issue(
        self,
        claims: MappedClaims,
        holder_key: HolderKey | None,
        config: FormatConfiguration,
        signer: Signer,
        now: datetime,
        *,
        random_bytes: RandomBytes,
        validity: RequestedValidity | None = None,
        status: StatusListReference | None = None,
    ) -> IssuedCredential:
        """Sign one credential over ``claims`` bound to ``holder_key`` (None for a bearer credential) at ``now``."""
        ...


@runtime_checkable
class TypeMetadataFormat(Protocol):
    """A format whose credential types have a Type Metadata document the issuer can host (SD-JWT VC)."""

    def type_metadata(self, config: FormatConfiguration) -> dict[str, Any]:
        """Return the Type Metadata document of ``config.credential_type``."""
        ...
