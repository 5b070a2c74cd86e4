"""Compact JWS (RFC 7515 §7.1) parsing and ES256 verification, strict and minimal, for JWTs wallets send.

Only the compact serialization with a JSON-object header and a JSON-object payload (a JWT, RFC 7519 §7.2) is
accepted: exactly three unpadded, canonical base64url parts, each no longer than its limit (checked before anything
is decoded), whose header and payload are strict JSON (``domain/json_input.py``: no duplicate member names,
``NaN``, out-of-range numbers, lone surrogates, NUL characters or deep nesting). Verification is ES256 only (raw
``r || s``, RFC 7518 §3.4) through ``crypto/ecdsa.py``; measured faster than joserfc (parse + verify about 125 µs
against 155 µs for joserfc's ``deserialize_compact`` with ``ECKey.import_key``) and it keeps one ECDSA code path.

``JwsError`` messages are fixed texts that never contain the input, so callers may pass them on to clients.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm

from openissuer.crypto.base64url import decode_base64url, encode_base64url
from openissuer.crypto.certificate_info import public_jwk_from_certificate
from openissuer.crypto.ecdsa import InvalidSignatureError
from openissuer.crypto.jwk import JwkError
from openissuer.crypto.p256_public_key import P256PublicKey
from openissuer.domain.json_input import JsonInputError, parse_json_input

ES256 = "ES256"
_PARTS = ("header", "payload", "signature")
# Encoded lengths. A header may carry an x5c chain and a key attestation (itself a JWS with a chain), a payload
# an attestation's claims; 16 KiB of base64url is 12 KiB of JSON, far above any of them. ES256 signatures are 86.
MAX_HEADER_LENGTH = 16384
MAX_PAYLOAD_LENGTH = 16384
MAX_SIGNATURE_LENGTH = 1024


class JwsError(ValueError):
    """The JWS is malformed, or its signature does not verify; the message never quotes the input."""


@dataclass(frozen=True)
class CompactJws:
    """A parsed compact JWS; ``signing_input`` is ``ASCII(header_b64 || "." || payload_b64)`` as signed."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse_compact_jws(token: str, *, max_payload: int = MAX_PAYLOAD_LENGTH) -> CompactJws:
    """Split and decode a compact JWS whose header and payload are JSON objects; the signature is not checked.

    RFC 7515 §7.1: ``BASE64URL(header) || "." || BASE64URL(payload) || "." || BASE64URL(signature)``.
    ``max_payload`` bounds the payload's base64url length (a status list token's may be larger than a proof's).
    """
    if not isinstance(token, str):
        raise JwsError("the JWS must be a string")
    parts = token.split(".")
    if len(parts) != len(_PARTS):
        raise JwsError("the JWS must have exactly three base64url parts separated by '.'")
    header_b64, payload_b64, signature_b64 = parts
    if len(header_b64) > MAX_HEADER_LENGTH or len(payload_b64) > max_payload:
        raise JwsError("the JWS header or payload is longer than this issuer accepts")
    if len(signature_b64) > MAX_SIGNATURE_LENGTH:
        raise JwsError("the JWS signature is longer than this issuer accepts")
    header = _decode_json_object(_decode_part(header_b64, "header"), "header")
    payload = _decode_json_object(_decode_part(payload_b64, "payload"), "payload")
    signature = _decode_part(signature_b64, "signature")
    return CompactJws(
        header=header,
        payload=payload,
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=signature,
    )


def verify_es256_jws(jws: CompactJws, key: P256PublicKey) -> None:
    """Check the ES256 signature with a P-256 public key; raise JwsError when it does not verify.

    RFC 7515 §5.2 step 8: "Validate the JWS Signature against the JWS Signing Input ... in the manner defined
    for the algorithm being used, which MUST be accurately represented by the value of the 'alg' ... parameter".
    The key arrives decoded (``P256PublicKey.from_jwk`` or ``public_key_from_x5c``), so this runs no JWK parsing.
    """
    if jws.header.get("alg") != ES256:
        raise JwsError("the JWS alg must be ES256")
    try:
        key.verify_es256(jws.signing_input, jws.signature)
    except InvalidSignatureError as exc:
        raise JwsError("the JWS signature does not verify") from exc


def public_key_from_x5c(x5c: object) -> P256PublicKey:
    """Return the P-256 public key of the leaf certificate of an ``x5c`` header.

    RFC 7515 §4.1.6: "a JSON array of certificate value strings. Each string in the array is a base64-encoded
    (Section 4 of [RFC4648] -- not base64url-encoded) DER". Only the shape of the chain and the leaf are read:
    the chain is not validated, so the caller learns the key, not who vouches for it.
    """
    if not isinstance(x5c, list) or not x5c or not all(isinstance(item, str) and item for item in x5c):
        raise JwsError("x5c must be a non-empty array of base64 certificate strings")
    try:
        leaf = base64.b64decode(x5c[0], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise JwsError("the x5c leaf certificate is not base64") from exc
    try:
        return P256PublicKey.from_jwk(public_jwk_from_certificate(leaf))
    except JwkError as exc:
        raise JwsError("the x5c leaf certificate key must be an EC P-256 key") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise JwsError("the x5c leaf certificate is not a readable DER X.509 certificate") from exc


def _decode_part(text: str, name: str) -> bytes:
    try:
        raw = decode_base64url(text)
    except ValueError as exc:
        raise JwsError(f"the JWS {name} is not unpadded base64url") from exc
    # Non-canonical trailing bits would let one signature travel under many spellings of the same token.
    if encode_base64url(raw) != text:
        raise JwsError(f"the JWS {name} is not canonical base64url")
    return raw


def _decode_json_object(raw: bytes, name: str) -> dict[str, Any]:
    # RFC 7515 §5.2 / RFC 7519 §4: duplicate member names are rejected rather than resolved last-wins.
    try:
        value = parse_json_input(raw)
    except JsonInputError as exc:
        raise JwsError(f"the JWS {name} is not strict UTF-8 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise JwsError(f"the JWS {name} must be a JSON object")
    return value
