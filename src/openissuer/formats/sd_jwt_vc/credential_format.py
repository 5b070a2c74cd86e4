"""The ``dc+sd-jwt`` CredentialFormat: configuration rules, metadata and issuance of an SD-JWT VC.

OID4VCI 1.0 Appendix A.3: the credential is the SD-JWT in compact form ``<issuer-signed JWT>~<Disclosure>~…~``;
the metadata entry names the ``vct``; holder binding is ``cnf.jwk`` from the ``jwt`` proof. SD-JWT VC
(draft-ietf-oauth-sd-jwt-vc): header ``typ: dc+sd-jwt``; ``iss``, ``nbf``, ``exp``, ``cnf``, ``vct`` and
``status`` are never disclosable. The issuer's key is found through ``x5c`` (its certificate names ``iss``) or the
issuer's ``/.well-known/jwt-vc-issuer`` document (by ``kid``).

Claim names are positions (``address.locality``, ``nationalities[0]``, ``nationalities[*]``) and each claim may say
``selectivelyDisclosable`` (default: true for a claim with a value; a flag-only entry names a container or every
element of an array). A specific entry wins over ``[*]``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import datetime, timedelta
from typing import Any

from openissuer.crypto.base64url import encode_base64url
from openissuer.crypto.certificate_info import read_certificate_info
from openissuer.crypto.jwk import compute_jwk_thumbprint
from openissuer.crypto.jws_signing import encode_x5c, sign_compact_jws
from openissuer.crypto.signer import ES256, Signer
from openissuer.domain.pki import SignerKind
from openissuer.domain.status_lists import StatusListKind
from openissuer.errors import CredentialRequestDeniedError, ErrorDetail
from openissuer.formats.base import (
    ClaimDescription,
    ClaimPathPointer,
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
from openissuer.formats.sd_jwt_vc.claim_values import encode_claim_value
from openissuer.formats.sd_jwt_vc.disclosures import (
    ARRAY_DIGEST,
    SD,
    SD_ALG,
    IsDisclosable,
    Position,
    conceal_claims,
)
from openissuer.formats.sd_jwt_vc.type_metadata import create_type_metadata
from openissuer.formats.sd_jwt_vc.validity import compute_credential_times

SD_JWT_VC = "dc+sd-jwt"
PROFILE = "sd-jwt"
TYP = "dc+sd-jwt"
SELECTIVELY_DISCLOSABLE = "selectivelyDisclosable"
DECOY_DIGESTS = "decoyDigests"
MAX_DECOY_DIGESTS = 20
# The issuer certificate lives at most 457 days and starts a day before it is made (services/document_signers.py).
MAX_VALIDITY = timedelta(days=455)
_MAX_VCT_LENGTH = 1024
# A Collision-Resistant Name (RFC 7515 §2) as a URI with a scheme; usable as an OAuth scope (RFC 6749 §3.3 NQCHAR).
_VCT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[\x21\x23-\x5b\x5d-\x7e]+")
# Set by the issuer, or never disclosable (SD-JWT VC §3.2.2.2): not claim names of a configuration.
RESERVED_CLAIMS = frozenset({"iss", "nbf", "exp", "iat", "cnf", "vct", "vct#integrity", "status", "_sd_alg"})
_RESERVED_ANYWHERE = frozenset({SD, ARRAY_DIGEST})  # RFC 9901 §4.2.4.1, §4.2.4.2

STATUS_LISTS = StatusListKind(
    name="sd-jwt-status-list",
    size=100_000,
    public_path="/v2/credentials/sd-jwt/status-lists/",
    public_suffix="/token",
    media_type="application/statuslist+jwt",
    partitioned=True,
    type_field="vct",
)
"""IETF Token Status Lists in JWT form for SD-JWT VCs, one set per vct and IACA (the reference platform's mDoc
lists, §10.1, in the form the draft defines for JOSE tokens)."""
SCHEMA = ConfigurationSchema(
    type_field="vct",
    type_description=(
        "The SD-JWT VC type (`vct`), a URI, unique among the tenant's SD-JWT VC configurations. A vct under the "
        "tenant's public URL at /vct/… is served as Type Metadata."
    ),
    claims_namespaced=False,
    status_field="includeStatus",
    status_default=False,
    validity_mapping=False,
    expires_in_required=True,
    claim_paths=True,
    claim_flags=(SELECTIVELY_DISCLOSABLE,),
    options={
        DECOY_DIGESTS: ConfigurationOption(
            {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_DECOY_DIGESTS,
                "description": "Up to this many decoy digests in each object with disclosable claims (default 0).",
            },
            default=0,
        )
    },
    status_list=STATUS_LISTS,
)


class SdJwtVcFormat:
    """Issue ``dc+sd-jwt`` credentials signed with ES256 by the tenant's SD-JWT VC issuer certificate (``x5c``)."""

    format_id = SD_JWT_VC
    profile = PROFILE
    schema = SCHEMA
    binds_holder = True
    signer_kind = SignerKind.SD_JWT_ISSUER

    def validate_configuration(self, config: FormatConfiguration) -> list[ErrorDetail]:
        """Return every SD-JWT VC problem: ``vct``, claim names, ``expiresIn``, ``decoyDigests``."""
        problems: list[ErrorDetail] = []
        vct = config.credential_type
        if len(vct) > _MAX_VCT_LENGTH or not _VCT.fullmatch(vct):
            problems.append(_problem("vct", "must be a URI (scheme:…) without spaces, quotes or backslashes"))
        if not any(not claim.flags_only for claim in config.claims):
            problems.append(_problem("claimMappings", "must configure at least one claim with a value"))
        for claim in config.claims:
            first = claim.path[0]
            if first in RESERVED_CLAIMS:
                problems.append(_problem(_param(claim), "is set by the issuer and cannot be configured"))
            elif any(part in _RESERVED_ANYWHERE for part in claim.path):
                problems.append(_problem(_param(claim), "_sd and ... are reserved by SD-JWT"))
        if config.expires_in is None:
            problems.append(_problem("expiresIn", "is required"))
        elif not timedelta(0) < config.expires_in <= MAX_VALIDITY:
            problems.append(_problem("expiresIn", f"must be positive and at most {MAX_VALIDITY.days} days"))
        decoys = config.options.get(DECOY_DIGESTS, 0)
        if not isinstance(decoys, int) or isinstance(decoys, bool) or not 0 <= decoys <= MAX_DECOY_DIGESTS:
            problems.append(_problem(DECOY_DIGESTS, f"must be an integer from 0 to {MAX_DECOY_DIGESTS}"))
        return problems

    def scope(self, config: FormatConfiguration) -> str:
        """The vct: unique in the tenant's SD-JWT VC configurations and a valid scope token."""
        return config.credential_type

    def metadata(self, config: FormatConfiguration) -> dict[str, Any]:
        """Return the ``credential_configurations_supported`` entry (OID4VCI 1.0 §12.2.4, Appendix A.3.2)."""
        entry: dict[str, Any] = {
            "format": SD_JWT_VC,
            "vct": config.credential_type,
            "cryptographic_binding_methods_supported": ["jwk"],
            "credential_signing_alg_values_supported": [ES256],
            "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": [ES256]}},
        }
        credential_metadata = create_credential_metadata(config)
        if credential_metadata is not None:
            entry["credential_metadata"] = credential_metadata
        return entry

    def issuer_metadata(self, issuer: str) -> dict[str, Any]:
        """Nothing: the issuer's keys are at ``/.well-known/jwt-vc-issuer``, outside the OID4VCI metadata."""
        return {}

    def type_metadata(self, config: FormatConfiguration) -> dict[str, Any]:
        """Return the SD-JWT VC Type Metadata document of the configuration's ``vct``."""
        return create_type_metadata(config, is_disclosable=find_disclosability(config.claims))

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
        """Return the SD-JWT VC over ``claims`` bound to ``holder_key`` and signed by ``signer``.

        Trust assumptions: ``claims`` are already mapped and coerced; ``holder_key`` comes from a verified proof;
        ``signer.x5c[0]`` is the SD-JWT VC issuer certificate of ``signer``'s key, naming ``iss``.
        """
        if holder_key is None:
            raise CredentialRequestDeniedError("An SD-JWT VC must be bound to a holder key, but no proof key was given")
        if signer.alg != ES256:
            raise UnusableSignerError(f"dc+sd-jwt is signed with ES256, not {signer.alg}")
        if config.expires_in is None:
            raise CredentialRequestDeniedError("The SD-JWT VC configuration has no expiresIn")
        if not signer.x5c:
            raise UnusableSignerError("the signer has no SD-JWT VC issuer certificate")
        certificate = read_certificate_info(signer.x5c[0])
        if not certificate.not_before <= now <= certificate.not_after:
            raise UnusableSignerError("the issuer certificate is not valid at the issuance time")
        if not config.issuer:
            raise UnusableSignerError("the credential issuer identifier was not given to the format")
        times = compute_credential_times(now, config.expires_in, random_bytes)
        if times.expires_at > certificate.not_after:
            raise CredentialRequestDeniedError("The credential would outlive its issuer certificate")
        concealed = conceal_claims(
            encode_claim_value(dict(claims)),
            find_disclosability(config.claims),
            random_bytes,
            max_decoys=int(config.options.get(DECOY_DIGESTS, 0)),
        )
        payload: dict[str, Any] = {
            "iss": config.issuer,
            "iat": int(times.issued_at.timestamp()),
            "exp": int(times.expires_at.timestamp()),
            "vct": config.credential_type,
            "cnf": {"jwk": holder_key.jwk},
            "_sd_alg": SD_ALG,
            **concealed.payload,
        }
        if status is not None:
            # draft-ietf-oauth-status-list §6.1; SD-JWT VC §3.2.2.2: never selectively disclosable.
            payload["status"] = {"status_list": {"idx": status.idx, "uri": status.uri}}
        header = {
            "alg": ES256,
            "typ": TYP,
            "kid": compute_jwk_thumbprint(signer.public_jwk),
            "x5c": encode_x5c(signer.x5c[:1]),
        }
        issuer_signed = sign_compact_jws(header, payload, signer)
        credential = "~".join([issuer_signed, *concealed.disclosures, ""])
        return IssuedCredential(
            format_id=SD_JWT_VC,
            credential_type=config.credential_type,
            credential=credential,
            signed_at=now,
            valid_from=times.issued_at,
            valid_until=times.expires_at,
            holder_key_thumbprint=holder_key.thumbprint,
            details={
                "vct": config.credential_type,
                "holderPublicKey": holder_key.jwk,
                "sdAlg": SD_ALG,
                "digests": sorted(concealed.digests),
                "decoys": concealed.decoys,
                "issuerSignedJwtHash": encode_base64url(hashlib.sha256(issuer_signed.encode("ascii")).digest()),
            },
            status=status,
        )


def find_disclosability(claims: tuple[ClaimDescription, ...]) -> IsDisclosable:
    """Return ``is_disclosable(position)`` for a configuration's claims: the entry at the position, else the
    ``[*]`` entry of each array on the way (the most specific one first), else not disclosable."""
    rules: dict[ClaimPathPointer, bool] = {}
    for claim in claims:
        flag = claim.flag(SELECTIVELY_DISCLOSABLE)
        rules[claim.path] = (not claim.flags_only) if flag is None else flag
    has_every = any(None in path for path in rules)

    def is_disclosable(position: Position) -> bool:
        found = rules.get(position)
        if found is not None:
            return found
        if not has_every:
            return False
        choices = [(part, None) if isinstance(part, int) else (part,) for part in position]
        for candidate in itertools.product(*choices):
            found = rules.get(candidate)
            if found is not None:
                return found
        return False

    return is_disclosable


def _param(claim: ClaimDescription) -> str:
    return "claimMappings." + ".".join("*" if part is None else str(part) for part in claim.path)


def _problem(param: str, msg: str) -> ErrorDetail:
    return ErrorDetail(location="body", param=param, msg=msg)
