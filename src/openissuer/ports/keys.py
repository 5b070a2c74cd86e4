"""The key store port: create signing keys and get Signers for stored keys, never handling key material."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openissuer.crypto.signer import Signer


class KeyStore(Protocol):
    """Where private keys live. Storage only ever holds the opaque ``sealed`` form this store returns."""

    def generate(self, *, aad: bytes) -> tuple[Signer, bytes]:
        """Create a P-256 key; return its Signer and its sealed form bound to ``aad`` (e.g. the owner's id)."""
        ...

    def load(self, sealed: bytes, *, aad: bytes, x5c: Sequence[bytes] = ()) -> Signer:
        """Return the Signer of a sealed key, carrying ``x5c`` (DER, leaf first)."""
        ...


class Ed25519KeyStore(Protocol):
    """Ed25519 keys (webhook signing), stored only in the sealed form this store returns."""

    def generate_ed25519(self, *, aad: bytes) -> tuple[Signer, bytes]:
        """Create an Ed25519 key; return its Signer (alg ``EdDSA``) and its sealed form bound to ``aad``."""
        ...

    def load_ed25519(self, sealed: bytes, *, aad: bytes) -> Signer:
        """Return the Signer of a sealed Ed25519 key."""
        ...
