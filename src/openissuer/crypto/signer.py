"""The Signer protocol (DESIGN.md §2): what formats and protocol code receive instead of key material.

An implementation may hold the key in memory (``adapters/keys/software.py``), in an HSM or in a cloud KMS; callers
only see the algorithm, the public key, the certificate chain and a ``sign`` operation.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

ES256 = "ES256"


@runtime_checkable
class Signer(Protocol):
    """Sign bytes with one private key that never leaves the implementation.

    Trust assumption: ``public_jwk`` and ``x5c`` describe the key ``sign`` uses; verifiers check the signature
    against ``x5c[0]`` (or ``public_jwk``), so an implementation that lies only produces unverifiable output.
    """

    @property
    def alg(self) -> str:
        """The JOSE algorithm name of the signatures ``sign`` returns, e.g. ``"ES256"``."""
        ...

    @property
    def kid(self) -> str:
        """The key identifier, stable for the key's lifetime."""
        ...

    @property
    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK without private members (a fresh dict each time)."""
        ...

    @property
    def x5c(self) -> list[bytes]:
        """The certificate chain as DER, leaf (the certificate of this key) first; empty when there is none."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Return the signature over ``data``; for ES256 the raw 64-byte ``r || s`` (RFC 7518 §3.4)."""
        ...
