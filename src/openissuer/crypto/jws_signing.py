"""Create compact JWS (RFC 7515 §7.1) with a ``Signer``: the issuer-signed JWT of an SD-JWT, for one.

The header and payload are serialised as compact UTF-8 JSON once, here; what they contain is the caller's. The
signature is the Signer's raw ES256 ``r || s`` (RFC 7518 §3.4), so the key may live in an HSM.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from openissuer.crypto.base64url import encode_base64url
from openissuer.crypto.signer import Signer


def sign_compact_jws(header: Mapping[str, Any], payload: Mapping[str, Any], signer: Signer) -> str:
    """Return ``BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature)`` signed by ``signer``.

    ``header`` must already carry ``alg`` (the Signer's); its values and the payload's must be JSON types.
    """
    if header.get("alg") != signer.alg:
        raise ValueError("the JWS header alg must be the signer's algorithm")
    signing_input = f"{encode_base64url(orjson.dumps(header))}.{encode_base64url(orjson.dumps(payload))}"
    return f"{signing_input}.{encode_base64url(signer.sign(signing_input.encode('ascii')))}"


def encode_x5c(chain: Sequence[bytes]) -> list[str]:
    """Return an ``x5c`` header value: each DER certificate in standard base64 (RFC 7515 §4.1.6), leaf first."""
    return [base64.b64encode(certificate).decode("ascii") for certificate in chain]
