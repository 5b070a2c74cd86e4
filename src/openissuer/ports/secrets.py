"""The secrets port: seal small secrets for storage and compute keyed digests, without handling the master key."""

from __future__ import annotations

from typing import Protocol


class SecretBox(Protocol):
    """Symmetric protection under the deployment's master key."""

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext`` bound to ``aad``."""
        ...

    def open(self, sealed: bytes, *, aad: bytes) -> bytes:
        """Return the plaintext of ``seal``; raise ValueError when it was tampered with or ``aad`` differs."""
        ...

    def mac(self, purpose: str, data: bytes) -> bytes:
        """Return HMAC-SHA256 of ``data`` under a key derived for ``purpose`` (for low-entropy secrets)."""
        ...
