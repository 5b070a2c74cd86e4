"""The software key store: P-256 keys sealed with the master key, unsealed on demand and cached."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from openissuer.adapters.keys.ed25519 import SoftwareEd25519Signer
from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.crypto.signer import Signer

CACHE_SIZE = 256


class SoftwareKeyStore:
    """Implements ``ports.keys.KeyStore`` with keys in process memory only while in use.

    Unsealed signers are cached (bounded, least recently used out) so the hot path does not decrypt and parse a
    PKCS#8 key on every issuance.
    """

    def __init__(self, master_key: bytes) -> None:
        self._master_key = master_key
        self._cache: OrderedDict[tuple[bytes, bytes, tuple[bytes, ...]], SoftwareSigner] = OrderedDict()

    def __repr__(self) -> str:
        return "SoftwareKeyStore()"

    def generate(self, *, aad: bytes) -> tuple[Signer, bytes]:
        """Create a key; return its signer and sealed form."""
        signer = SoftwareSigner.generate()
        return signer, signer.export_sealed(self._master_key, aad=aad)

    def load(self, sealed: bytes, *, aad: bytes, x5c: Sequence[bytes] = ()) -> Signer:
        """Return the signer of a sealed key (from the cache when recently used)."""
        key = (sealed, aad, tuple(x5c))
        signer = self._cache.get(key)
        if signer is None:
            signer = SoftwareSigner.from_sealed(self._master_key, sealed, aad=aad, x5c=x5c)
            self._cache[key] = signer
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return signer

    def generate_ed25519(self, *, aad: bytes) -> tuple[Signer, bytes]:
        """Create an Ed25519 key; return its signer and sealed form."""
        signer = SoftwareEd25519Signer.generate()
        return signer, signer.export_sealed(self._master_key, aad=aad)

    def load_ed25519(self, sealed: bytes, *, aad: bytes) -> Signer:
        """Return the signer of a sealed Ed25519 key (unsealed on every call: callers cache it)."""
        return SoftwareEd25519Signer.from_sealed(self._master_key, sealed, aad=aad)
