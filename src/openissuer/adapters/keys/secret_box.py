"""The software secret box: AES-256-GCM sealing and HMAC under keys derived from the master key."""

from __future__ import annotations

from openissuer.crypto.envelope import open_sealed, seal
from openissuer.crypto.hmac_jwt import derive_key
from openissuer.crypto.hmac_sha256 import HmacSha256Key


class SoftwareSecretBox:
    """Implements ``ports.secrets.SecretBox``."""

    def __init__(self, master_key: bytes) -> None:
        self._master_key = master_key
        self._mac_keys: dict[str, HmacSha256Key] = {}

    def __repr__(self) -> str:
        return "SoftwareSecretBox()"

    def seal(self, plaintext: bytes, *, aad: bytes) -> bytes:
        """Encrypt ``plaintext`` bound to ``aad``."""
        return seal(self._master_key, plaintext, aad=aad)

    def open(self, sealed: bytes, *, aad: bytes) -> bytes:
        """Decrypt what ``seal`` produced (EnvelopeError, a ValueError, when it does not authenticate)."""
        return open_sealed(self._master_key, sealed, aad=aad)

    def mac(self, purpose: str, data: bytes) -> bytes:
        """HMAC-SHA256 under a key derived for ``purpose``."""
        key = self._mac_keys.get(purpose)
        if key is None:
            key = HmacSha256Key(derive_key(self._master_key, f"openissuer/mac/{purpose}"))
            self._mac_keys[purpose] = key
        return key.mac(data)
