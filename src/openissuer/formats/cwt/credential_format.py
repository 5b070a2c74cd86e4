"""The ``cwt`` CredentialFormat: compact credentials as the reference platform defines them (§4.6, §9).

A compact credential is a CWT (RFC 8392) in a tagged COSE_Sign1 (tag 18) signed with ES256 by a P-256 key of the
issuer's ``did:web`` DID document: the protected header is ``{1: -7, 4: kid}`` with the 8-byte ``kid`` that names
the key's verification method (``<did>#<kid>``), the unprotected header is empty, and the text form is ``CSC:/1/``
+ base32 (``compact_text.py``). It is a bearer credential: not bound to a holder key, so the metadata entry has
neither ``cryptographic_binding_methods_supported`` nor ``proof_types_supported`` (OID4VCI 1.0 errata: "if key
binding is not required", both are omitted), and the pipeline checks but does not bind a proof that is sent.

Besides issuing through the pipeline, this class is the codec the direct APIs (``/sign``, ``/verify``) use
(``sign_compact``, ``read_compact``, ``verify_compact``): bootstrap hands it to the service as such.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from openissuer.crypto.base64url import encode_base64url
from openissuer.crypto.cose import (
    ALG_ES256,
    HEADER_ALG,
    HEADER_KID,
    CoseError,
    create_cose_sign1,
    decode_cose_sign1,
    decode_protected_header,
    verify_cose_sign1,
)
from openissuer.crypto.signer import ES256, Signer
from openissuer.domain.compact_credentials import (
    RESERVED_CLAIM_NAMES,
    CompactClaims,
    CompactCredential,
    CompactCredentialError,
    CompactStatus,
    CustomClaimValue,
    RevocationListDocument,
    VerificationFailure,
)
from openissuer.domain.dids import DID_WEB_PREFIX, FAR_FUTURE, KEY_ID_LENGTH
from openissuer.domain.pki import SignerKind
from openissuer.domain.status_lists import StatusListKind
from openissuer.errors import CredentialRequestDeniedError, ErrorDetail
from openissuer.formats.base import (
    ConfigurationOption,
    ConfigurationSchema,
    FormatConfiguration,
    HolderKey,
    IssuedCredential,
    MappedClaims,
    RandomBytes,
    RequestedValidity,
    StatusListReference,
    UnusableSignerError,
)
from openissuer.formats.credential_metadata import create_credential_metadata
from openissuer.formats.cwt.claims import TOKEN_ID_LENGTH, decode_claims, encode_claims, find_custom_value_problem
from openissuer.formats.cwt.compact_text import decode_compact_text, encode_compact_text
from openissuer.formats.cwt.revocation_list import create_bitstring, decode_list_claims, encode_list_claims

CWT = "cwt"
PROFILE = "compact"
REVOCATION_LISTS = StatusListKind(
    name="cwt-revocation", size=1_000_000, public_path="/v2/credentials/compact/revocation-lists/"
)
"""Reference §10.2: each list "holds up to 1 000 000 entries, one bit each"."""
_MAX_TYPE_LENGTH = 1024
_RESERVED_TYPE = "VerifiableCredential"
_VALUE_TYPES = frozenset({"string", "number", "boolean", "date", "dateTime"})
_DEFAULT_TYPES = frozenset({"string", "number", "boolean"})
_SCOPE_SAFE = "!#$&'()*+,-./:;<=>?@[]^_`{|}~"  # RFC 6749 §3.3 scope-token characters other than letters and digits
SCHEMA = ConfigurationSchema(
    type_field="type",
    type_description="The credential type (the CWT's type claim), unique among the tenant's CWT configurations.",
    claims_namespaced=False,
    status_field="revocable",
    status_default=True,
    validity_mapping=False,
    expires_in_required=False,
    options={
        "pdfTemplateId": ConfigurationOption(
            {"type": "string", "format": "uuid", "description": "Kept for compatibility; openissuer renders no PDF."}
        )
    },
    status_list=REVOCATION_LISTS,
)


class CwtFormat:
    """Issue, sign, read and verify compact credentials."""

    format_id = CWT
    profile = PROFILE
    schema = SCHEMA
    binds_holder = False
    signer_kind = SignerKind.DID_WEB

    def validate_configuration(self, config: FormatConfiguration) -> list[ErrorDetail]:
        """Reference §4.6: ``type`` 1-1024 characters, not ``VerifiableCredential``; flat claim mappings whose
        values end up a string, number or boolean, under names that are not the standard claims'."""
        problems: list[ErrorDetail] = []
        credential_type = config.credential_type
        if not credential_type.strip() or len(credential_type) > _MAX_TYPE_LENGTH or credential_type == _RESERVED_TYPE:
            problems.append(_problem("type", f"must be 1-{_MAX_TYPE_LENGTH} characters and not {_RESERVED_TYPE}"))
        for claim in config.claims:
            name = claim.path[-1]
            param = f"claimMappings.{name}"
            if len(claim.path) != 1:
                problems.append(_problem("claimMappings", "CWT claim mappings are flat: {claimName: mapping}"))
            elif name in RESERVED_CLAIM_NAMES:
                problems.append(_problem(param, "is the name of a standard claim"))
            if claim.value_type is not None and claim.value_type not in _VALUE_TYPES:
                problems.append(_problem(f"{param}.type", "must be string, number, boolean, date or dateTime"))
            if claim.value_type is None and claim.default_type not in (None, *_DEFAULT_TYPES):
                problems.append(_problem(f"{param}.defaultValue", "must be a string, a number or a boolean"))
        template = config.options.get("pdfTemplateId")
        if template is not None and not _is_uuid(template):
            problems.append(_problem("pdfTemplateId", "must be a UUID"))
        return problems

    def scope(self, config: FormatConfiguration) -> str:
        """``cwt:<type>``, the type percent-encoded where a scope token may not carry a character (a space)."""
        return f"{CWT}:{quote(config.credential_type, safe=_SCOPE_SAFE)}"

    def metadata(self, config: FormatConfiguration) -> dict[str, Any]:
        """Return the ``credential_configurations_supported`` entry of a bearer credential (no binding methods,
        no proof types) signed with ES256 (COSE algorithm -7)."""
        entry: dict[str, Any] = {
            "format": CWT,
            "type": config.credential_type,
            "credential_signing_alg_values_supported": [ALG_ES256],
        }
        credential_metadata = create_credential_metadata(config)
        if credential_metadata is not None:
            entry["credential_metadata"] = credential_metadata
        return entry

    def issuer_metadata(self, issuer: str) -> dict[str, Any]:
        """Nothing: verifiers find the keys through the ``iss`` DID."""
        return {}

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
        """Return the text form of a compact credential over ``claims`` (``holder_key`` is ignored: bearer).

        ``iat`` and ``nbf`` are ``now``, ``exp`` is ``now + expiresIn`` (absent without ``expiresIn``); the
        ``status`` the pipeline allocated becomes the ``status`` claim. Trust assumption: ``signer.kid`` is the DID
        URL of the signing key's verification method.
        """
        issuer, key_id = read_signer_key_id(signer)
        token_id = random_bytes(TOKEN_ID_LENGTH)
        seconds = int(now.timestamp())
        expires = None if config.expires_in is None else now + config.expires_in
        compact = CompactClaims(
            issuer=issuer,
            token_id=token_id,
            credential_type=config.credential_type,
            issued_at=seconds,
            not_before=seconds,
            expires_at=None if expires is None else int(expires.timestamp()),
            status=None if status is None else CompactStatus(index=status.idx, url=status.uri),
            custom={name: _custom_value(name, value) for name, value in claims.items()},
        )
        jti = encode_base64url(token_id)
        return IssuedCredential(
            format_id=CWT,
            credential_type=config.credential_type,
            credential=self.sign_compact(compact, signer),
            signed_at=now,
            valid_from=now,
            valid_until=FAR_FUTURE if expires is None else expires,
            details={"jti": jti, "kid": key_id, "claimNames": sorted(compact.custom)},
            status=status,
            credential_id=jti,
        )

    def sign_compact(self, claims: CompactClaims, signer: Signer) -> str:
        """Sign ``claims`` into the text form (§9.2); the ``iss`` must be the DID of ``signer``'s key."""
        issuer, key_id = read_signer_key_id(signer)
        if claims.issuer != issuer:
            raise UnusableSignerError("the iss claim is not the DID of the signing key")
        sign1 = create_cose_sign1(
            encode_claims(claims), signer, include_x5chain=False, extra_protected={HEADER_KID: key_id.encode()}
        )
        return encode_compact_text(sign1.encode(tagged=True))

    def read_compact(self, text: str) -> CompactCredential:
        """Decode the text form and check its structure (not its signature): prefix, base32, COSE_Sign1 with an
        ES256 protected header and a ``kid``, and the claims of §9.2. Raises ``CompactCredentialError``."""
        message = decode_compact_text(text)
        kid, payload = _read_sign1(message, VerificationFailure.PAYLOAD_INVALID)
        claims = decode_claims(payload)
        return CompactCredential(kid=kid, claims=claims, jti=encode_base64url(claims.token_id), message=message)

    def verify_compact(self, credential: CompactCredential, public_jwk: Mapping[str, object]) -> None:
        """Check the signature with the issuer's key; ``SignatureInvalid`` when it does not verify."""
        verify_signature(credential.message, public_jwk)

    def sign_revocation_list(
        self, signer: Signer, url: str, issued_at: datetime, expires_at: datetime, size: int, revoked: Iterable[int]
    ) -> bytes:
        """Return the signed revocation list CWT (``revocation_list.py``) of the list at ``url`` with ``size``
        entries, the ``revoked`` ones set."""
        issuer, key_id = read_signer_key_id(signer)
        bitstring = create_bitstring(size, revoked)
        claims = encode_list_claims(issuer, url, int(issued_at.timestamp()), int(expires_at.timestamp()), bitstring)
        sign1 = create_cose_sign1(claims, signer, include_x5chain=False, extra_protected={HEADER_KID: key_id.encode()})
        return sign1.encode(tagged=True)

    def read_revocation_list(self, data: bytes) -> RevocationListDocument:
        """Decode a revocation list CWT (signature not checked); ``RevocationStatusUnknown`` when malformed."""
        kid, payload = _read_sign1(data, VerificationFailure.REVOCATION_STATUS_UNKNOWN)
        issuer, url, issued_at, expires_at, bitstring = decode_list_claims(payload)
        return RevocationListDocument(kid, issuer, url, issued_at, expires_at, bitstring, data)

    def verify_revocation_list(self, document: RevocationListDocument, public_jwk: Mapping[str, object]) -> None:
        """Check a revocation list's signature; ``SignatureInvalid`` when it does not verify."""
        verify_signature(document.message, public_jwk)


def verify_signature(message: bytes, public_jwk: Mapping[str, object]) -> None:
    """Check an ES256 COSE_Sign1's signature; ``SignatureInvalid`` when it does not verify."""
    try:
        verify_cose_sign1(message, public_jwk)
    except CoseError as exc:
        raise CompactCredentialError(VerificationFailure.SIGNATURE_INVALID, "The signature is invalid") from exc


def _read_sign1(message: bytes, failure: VerificationFailure) -> tuple[str, bytes]:
    """Return the text ``kid`` and the payload of an ES256 COSE_Sign1 (tag 18 or untagged)."""
    try:
        sign1 = decode_cose_sign1(message)
        header = decode_protected_header(sign1.protected)
    except CoseError as exc:
        raise CompactCredentialError(failure, "The data is not a COSE_Sign1") from exc
    if header.get(HEADER_ALG) != ALG_ES256:
        raise CompactCredentialError(VerificationFailure.UNSUPPORTED_ALGORITHM, "The signature is not ES256")
    kid = header.get(HEADER_KID, sign1.unprotected.get(HEADER_KID))
    try:
        kid_text = kid.decode("utf-8") if isinstance(kid, bytes) else None
    except UnicodeDecodeError:
        kid_text = None
    if not kid_text:
        raise CompactCredentialError(failure, "The signature has no text kid")
    return kid_text, sign1.payload


def read_signer_key_id(signer: Signer) -> tuple[str, str]:
    """Return the DID and the key id of a DID key Signer (``kid`` = ``<did>#<kid>``)."""
    if signer.alg != ES256:
        raise UnusableSignerError(f"compact credentials are signed with ES256, not {signer.alg}")
    did, _, key_id = signer.kid.partition("#")
    if not did.startswith(DID_WEB_PREFIX) or len(key_id.encode()) != KEY_ID_LENGTH:
        raise UnusableSignerError("the signer's kid is not a did:web URL with an 8-byte fragment")
    return did, key_id


def _custom_value(name: str, value: Any) -> CustomClaimValue:
    """A mapped value as a custom claim: date-times and dates as ISO 8601 text; only primitives otherwise."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    problem = find_custom_value_problem(value)
    if problem is not None:
        raise CredentialRequestDeniedError(
            "A claim of this credential cannot be issued", detail=f"CWT claim {name!r} {problem}"
        )
    return value  # type: ignore[no-any-return]


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _problem(param: str, msg: str) -> ErrorDetail:
    return ErrorDetail(location="body", param=param, msg=msg)
