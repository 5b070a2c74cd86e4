"""SD-JWT VC checks by independent implementations: the reference ``sd-jwt`` package (issuer signature, disclosures,
key binding), ``cryptography`` for the x5c chain to the tenant's IACA, and ``hashlib`` for the digests. None of the
server's code paths is used here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey
from jwcrypto.jwk import JWK
from sd_jwt.holder import SDJWTHolder
from sd_jwt.verifier import SDJWTVerifier

SD_JWT_CONFIGURATION: dict[str, Any] = {
    "vct": "https://issuer.example/vct/identity",
    "claimMappings": {
        "given_name": {
            "mapFrom": "claims.given_name",
            "type": "string",
            "required": True,
            "display": [{"name": "Given name", "locale": "en"}, {"name": "Tapa ingoa", "locale": "mi"}],
        },
        "family_name": {"mapFrom": "claims.family_name", "type": "string", "required": True},
        "birthdate": {"mapFrom": "claims.birth_date", "type": "date"},
        "address": {"selectivelyDisclosable": True, "display": [{"name": "Address"}]},
        "address.locality": {"mapFrom": "claims.city", "type": "string"},
        "address.country": {"defaultValue": "NZ", "selectivelyDisclosable": False},
        "nationalities": {"mapFrom": "claims.nationalities", "type": "array", "selectivelyDisclosable": False},
        "nationalities[*]": {"selectivelyDisclosable": True},
        "member": {"defaultValue": True, "selectivelyDisclosable": False},
    },
    "expiresIn": {"days": 30},
    "decoyDigests": 3,
    "branding": {"name": "Identity", "backgroundColor": "#112233"},
}
SD_JWT_CLAIMS = {
    "given_name": "Ana",
    "family_name": "Ngata",
    "birth_date": "1990-01-02",
    "city": "Wellington",
    "nationalities": ["NZ", "GB"],
}
ALL_DISCLOSED = {
    "given_name": "Ana",
    "family_name": "Ngata",
    "birthdate": "1990-01-02",
    "address": {"locality": "Wellington", "country": "NZ"},
    "nationalities": ["NZ", "GB"],
    "member": True,
}


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest_of(disclosure: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(disclosure.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass
class Verified:
    """What an SD-JWT VC is made of, after it verified."""

    header: dict[str, Any]
    payload: dict[str, Any]  # the issuer-signed payload, digests in place
    disclosures: list[str]
    claims: dict[str, Any]  # the payload with every disclosure applied (the reference implementation's view)
    leaf: x509.Certificate

    @property
    def signature(self) -> str:
        return self.issuer_signed.split(".")[2]

    issuer_signed: str = ""

    def salts(self) -> set[str]:
        return {json.loads(b64decode(d))[0] for d in self.disclosures}

    def digests(self) -> set[str]:
        return {digest_of(d) for d in self.disclosures}


def issuer_key_of(leaf: x509.Certificate) -> JWK:
    return JWK.from_pem(
        leaf.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def verify_sd_jwt_vc(credential: str, iaca_pem: str, *, issuer: str, holder: ECKey) -> Verified:
    """Verify an issued SD-JWT VC: typ, the x5c chain to the IACA (and its SAN naming ``iss``), the issuer
    signature and every disclosure with the reference implementation, and that each disclosure's digest is in an
    ``_sd`` array or an array element of the payload or of another disclosure."""
    assert credential.endswith("~")
    issuer_signed, *disclosures, key_binding = credential.split("~")
    assert key_binding == ""
    header = json.loads(b64decode(issuer_signed.split(".")[0]))
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256"
    assert len(header["x5c"]) == 1  # the trust anchor (the IACA) is not in x5c
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    iaca = x509.load_pem_x509_certificate(iaca_pem.encode())
    leaf.verify_directly_issued_by(iaca)
    now = datetime.now(UTC)
    assert leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert issuer in san.get_values_for_type(x509.UniformResourceIdentifier)

    def issuer_key(iss: str, unverified_header: dict[str, Any]) -> JWK:
        assert iss == issuer
        return issuer_key_of(leaf)

    verifier = SDJWTVerifier(credential, issuer_key)
    claims = verifier.get_verified_payload()
    payload = json.loads(b64decode(issuer_signed.split(".")[1]))
    assert payload["cnf"]["jwk"] == holder.as_dict(private=False)
    referenced = _referenced_digests(payload) | {
        digest for d in disclosures for digest in _referenced_digests(json.loads(b64decode(d))[-1])
    }
    for disclosure in disclosures:
        assert digest_of(disclosure) in referenced, "a disclosure whose digest is in no _sd array or element"
    return Verified(header, payload, disclosures, claims, leaf, issuer_signed)


def _referenced_digests(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        if set(value) == {"..."}:
            found.add(value["..."])
        found.update(value.get("_sd", []))
        for key, item in value.items():
            if key != "_sd":
                found |= _referenced_digests(item)
    elif isinstance(value, list):
        for item in value:
            found |= _referenced_digests(item)
    return found


def present(credential: str, disclose: dict[str, Any], holder: ECKey, *, nonce: str, aud: str) -> str:
    """Return a presentation with only ``disclose``'s disclosures and a KB-JWT signed by the holder key (the
    reference implementation's holder)."""
    sd_holder = SDJWTHolder(credential)
    sd_holder.create_presentation(
        disclose, nonce=nonce, aud=aud, holder_key=JWK(**holder.as_dict(private=True)), sign_alg="ES256"
    )
    return str(sd_holder.sd_jwt_presentation)


def verify_presentation(presentation: str, leaf: x509.Certificate, *, nonce: str, aud: str) -> dict[str, Any]:
    """Verify a presentation with its key binding (the reference implementation's verifier) and return what it
    discloses."""
    verifier = SDJWTVerifier(
        presentation, lambda iss, header: issuer_key_of(leaf), expected_aud=aud, expected_nonce=nonce
    )
    return dict(verifier.get_verified_payload())
