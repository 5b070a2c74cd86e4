"""The ``mso_mdoc`` CredentialFormat: metadata, configuration checks and issuance of an ISO 18013-5 mdoc.

OID4VCI 1.0 Appendix A.2: the credential is "the base64url-encoded representation of the CBOR-encoded
IssuerSigned structure"; ``credential_signing_alg_values_supported`` holds COSE algorithm integers; the holder's
proof key (a JWK from the ``jwt`` proof) becomes the MSO ``deviceKeyInfo.deviceKey`` COSE_Key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openissuer.crypto.base64url import encode_base64url, encode_base64url_each
from openissuer.crypto.cose import ALG_ES256, create_cose_sign1
from openissuer.crypto.signer import ES256, Signer
from openissuer.domain.pki import PUBLIC_IACAS_PATH, SignerKind
from openissuer.domain.status_lists import StatusListKind
from openissuer.errors import CredentialRequestDeniedError, ErrorDetail
from openissuer.formats.base import (
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
from openissuer.formats.mso_mdoc.issuer_signed import SignedElement, create_signed_elements, encode_issuer_signed
from openissuer.formats.mso_mdoc.mobile_security_object import encode_mobile_security_object
from openissuer.formats.mso_mdoc.validity import compute_validity_window, find_validity_problem

MSO_MDOC = "mso_mdoc"
PROFILE = "mobile"
_MAX_DOC_TYPE_LENGTH = 1024
_RESERVED_DOC_TYPE = "VerifiableCredential"
STATUS_LISTS = StatusListKind(
    name="mdoc-status-list",
    size=100_000,
    public_path="/v2/credentials/mobile/status-lists/",
    public_suffix="/token",
    media_type="application/statuslist+cwt",
    partitioned=True,
    type_field="docType",
)
"""Reference §10.1: IETF Token Status Lists in CWT form, "list size 100 000", one set per docType and IACA; the
MSO's ``status.status_list.uri`` is ``…/v2/credentials/mobile/status-lists/{statusListId}/token``."""
SCHEMA = ConfigurationSchema(
    type_field="type",
    type_description="The mDoc docType, unique among the tenant's mDoc configurations.",
    claims_namespaced=True,
    status_field="includeStatus",
    status_default=False,
    validity_mapping=True,
    expires_in_required=True,
    status_list=STATUS_LISTS,
)


class MsoMdocFormat:
    """Issue ``mso_mdoc`` credentials signed with ES256 by a document signer whose certificate is in ``x5c``."""

    format_id = MSO_MDOC
    profile = PROFILE
    schema = SCHEMA
    binds_holder = True
    signer_kind = SignerKind.DOCUMENT_SIGNER

    def validate_configuration(self, config: FormatConfiguration) -> list[ErrorDetail]:
        """Return every mDoc problem: docType, claim paths and types, ``expiresIn``.

        Reference §4.2: ``type`` is 1-1024 characters and "must not be VerifiableCredential"; validity below 427
        days for an mDL, at most 3620 days otherwise. §4.3: ``type`` "is required when mapFrom is used". Claim
        paths are ``(namespace, elementIdentifier)``.
        """
        problems: list[ErrorDetail] = []
        doc_type = config.credential_type
        if not doc_type.strip() or len(doc_type) > _MAX_DOC_TYPE_LENGTH or doc_type == _RESERVED_DOC_TYPE:
            problems.append(
                _problem("type", f"must be 1-{_MAX_DOC_TYPE_LENGTH} characters and not {_RESERVED_DOC_TYPE}")
            )
        if not config.claims:
            problems.append(_problem("claimMappings", "must configure at least one claim"))
        for claim in config.claims:
            if len(claim.path) != 2 or not all(isinstance(part, str) and part.strip() for part in claim.path):
                problems.append(_problem("claimMappings", "each claim needs a namespace and an element identifier"))
            elif claim.mapped and claim.value_type is None:
                problems.append(_problem(f"claimMappings.{claim.path[0]}.{claim.path[1]}.type", _TYPE_REQUIRED))
        if config.expires_in is None:
            problems.append(_problem("expiresIn", "is required"))
        else:
            validity_problem = find_validity_problem(doc_type, config.expires_in)
            if validity_problem is not None:
                problems.append(_problem("expiresIn", validity_problem))
        return problems

    def scope(self, config: FormatConfiguration) -> str:
        """The docType: unique in the tenant, so it identifies the configuration."""
        return config.credential_type

    def metadata(self, config: FormatConfiguration) -> dict[str, Any]:
        """Return the ``credential_configurations_supported`` entry (OID4VCI 1.0 §12.2.4, Appendix A.2.2)."""
        entry: dict[str, Any] = {
            "format": MSO_MDOC,
            "doctype": config.credential_type,
            "cryptographic_binding_methods_supported": ["cose_key", "jwk"],
            "credential_signing_alg_values_supported": [ALG_ES256],
            "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": [ES256]}},
        }
        credential_metadata = create_credential_metadata(config)
        if credential_metadata is not None:
            entry["credential_metadata"] = credential_metadata
        return entry

    def issuer_metadata(self, issuer: str) -> dict[str, Any]:
        """``mdoc_iacas_uri``: where wallets find the tenant's active IACAs, as the reference publishes it
        (§3.4: ``https://{tenant}/core/v1/openid/iacas``; ``/core`` is an alias the web layer resolves)."""
        return {"mdoc_iacas_uri": issuer + "/core" + PUBLIC_IACAS_PATH}

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
        """Return a base64url ``IssuerSigned`` whose MSO binds ``holder_key`` and is signed by ``signer``.

        Trust assumptions: ``claims`` are already mapped and coerced; ``holder_key`` comes from a verified proof;
        ``signer.x5c[0]`` is the document-signer certificate of ``signer``'s key.
        """
        if holder_key is None:
            raise CredentialRequestDeniedError("An mDoc must be bound to a holder key, but no proof key was given")
        if signer.alg != ES256:
            raise UnusableSignerError(f"mso_mdoc is signed with ES256, not {signer.alg}")
        if config.expires_in is None:
            raise CredentialRequestDeniedError("The mDoc configuration has no expiresIn")
        window = compute_validity_window(
            now=now,
            expires_in=config.expires_in,
            doc_type=config.credential_type,
            requested=validity,
            certificate_chain=signer.x5c,
        )
        elements = create_signed_elements(claims, random_bytes)
        if not elements:
            raise CredentialRequestDeniedError("The mDoc would contain no claims")
        payload = encode_mobile_security_object(
            elements,
            device_key=holder_key,
            doc_type=config.credential_type,
            signed=window.signed,
            valid_from=window.valid_from,
            valid_until=window.valid_until,
            status=status,
        )
        issuer_auth = create_cose_sign1(payload, signer)
        return IssuedCredential(
            format_id=MSO_MDOC,
            credential_type=config.credential_type,
            credential=encode_base64url(encode_issuer_signed(elements, issuer_auth)),
            signed_at=window.signed,
            valid_from=window.valid_from,
            valid_until=window.valid_until,
            holder_key_thumbprint=holder_key.thumbprint,
            details=describe_issued_mdoc(config.credential_type, holder_key, elements, payload),
            status=status,
        )


def describe_issued_mdoc(
    doc_type: str, holder_key: HolderKey, elements: Sequence[SignedElement], payload: bytes
) -> dict[str, Any]:
    """Return the format's part of the issuance record (reference §5.2's user credential record): digests, never
    values; ``msoHash`` is the SHA-256 over the signed MobileSecurityObjectBytes (the COSE_Sign1 payload)."""
    *digests, mso_hash = encode_base64url_each(
        [*(element.digest for element in elements), hashlib.sha256(payload).digest()], _SHA256_SIZE
    )
    namespaces: dict[str, dict[str, dict[str, Any]]] = {}
    for element, digest in zip(elements, digests, strict=True):
        namespaces.setdefault(element.namespace, {})[element.identifier] = {
            "digestID": element.digest_id,
            "digest": digest,
        }
    return {"docType": doc_type, "devicePublicKey": holder_key.jwk, "namespaces": namespaces, "msoHash": mso_hash}


_TYPE_REQUIRED = "is required when mapFrom is used"
_SHA256_SIZE = 32


def _problem(param: str, msg: str) -> ErrorDetail:
    return ErrorDetail(location="body", param=param, msg=msg)
