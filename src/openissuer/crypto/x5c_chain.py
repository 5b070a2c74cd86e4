"""Verify an ``x5c`` certificate chain (RFC 7515 §4.1.6) up to configured trust anchors: the chain wallet and key
attestations carry (OID4VCI 1.0 Appendix D and E, HAIP §5: ``x5c`` with the signer first, the trust anchor not
included, the signer not self-signed).

Checked: every certificate parses and is valid at ``now``; each one is issued (name and signature) by the next; every
issuer in the chain is a CA (basic constraints); the last one is issued by one of the anchors, which is valid at
``now``; no certificate of the chain is self-signed (a trust anchor has no place in it); the signer's key is P-256.
Not checked: revocation (no CRL or OCSP is fetched) and name or policy constraints.

``X5cChainError`` messages are fixed texts that never quote the input.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec

from openissuer.crypto.jwk import jwk_from_public_key
from openissuer.crypto.p256_public_key import P256PublicKey

MAX_CHAIN = 5


class X5cChainError(ValueError):
    """The chain does not lead to a trust anchor; the message never quotes the input."""


def verify_x5c_chain(x5c: object, anchors: Sequence[bytes], now: datetime) -> P256PublicKey:
    """Return the signer's P-256 key after checking its chain leads to one of ``anchors`` (DER)."""
    if not anchors:
        raise X5cChainError("no trust anchors are configured")
    if not isinstance(x5c, list) or not 1 <= len(x5c) <= MAX_CHAIN or not all(isinstance(c, str) for c in x5c):
        raise X5cChainError(f"x5c must be an array of 1 to {MAX_CHAIN} base64 certificates")
    chain = [_load(item) for item in x5c]
    roots = [x509.load_der_x509_certificate(der) for der in anchors]
    for certificate in chain:
        _check_validity(certificate, now)
        if _issued_by(certificate, certificate):
            raise X5cChainError("the chain must not contain a self-signed certificate (a trust anchor)")
    for subject, issuer in itertools.pairwise(chain):
        if not _issued_by(subject, issuer) or not _is_ca(issuer):
            raise X5cChainError("each certificate of the chain must be issued by the next, a CA")
    anchor = next((root for root in roots if _issued_by(chain[-1], root)), None)
    if anchor is None:
        raise X5cChainError("the chain does not lead to a trusted anchor")
    _check_validity(anchor, now)
    key = chain[0].public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise X5cChainError("the signer's key must be an EC P-256 key")
    return P256PublicKey.from_jwk(jwk_from_public_key(key))


def _load(item: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(base64.b64decode(item, validate=True))
    except (binascii.Error, ValueError, UnsupportedAlgorithm) as exc:
        raise X5cChainError("an x5c entry is not a base64 DER X.509 certificate") from exc


def _check_validity(certificate: x509.Certificate, now: datetime) -> None:
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise X5cChainError("a certificate of the chain is not valid now")


def _issued_by(subject: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        subject.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
