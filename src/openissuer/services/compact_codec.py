"""What the compact-credential services need of the CWT format plugin: its codec (bootstrap hands them the
``cwt`` format's instance, so services never import a format package)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from openissuer.crypto.signer import Signer
from openissuer.domain.compact_credentials import CompactClaims, CompactCredential, RevocationListDocument


class CompactCredentialCodec(Protocol):
    """Sign, read and verify compact credentials and their revocation lists (``CompactCredentialError`` when a
    credential or list is malformed or its signature does not verify)."""

    @property
    def format_id(self) -> str:
        """The OID4VCI format identifier of the credentials (``cwt``)."""
        ...

    @property
    def profile(self) -> str:
        """The reference platform's profile name (``compact``)."""
        ...

    def sign_compact(self, claims: CompactClaims, signer: Signer) -> str:
        """Return the text form of a credential with ``claims`` signed by ``signer`` (kid ``<did>#<kid>``)."""
        ...

    def read_compact(self, text: str) -> CompactCredential:
        """Decode a credential's text form and check its structure, not its signature."""
        ...

    def verify_compact(self, credential: CompactCredential, public_jwk: Mapping[str, object]) -> None:
        """Check a credential's signature."""
        ...

    def sign_revocation_list(
        self, signer: Signer, url: str, issued_at: datetime, expires_at: datetime, size: int, revoked: Iterable[int]
    ) -> bytes:
        """Return a signed revocation list."""
        ...

    def read_revocation_list(self, data: bytes) -> RevocationListDocument:
        """Decode a revocation list, not checking its signature."""
        ...

    def verify_revocation_list(self, document: RevocationListDocument, public_jwk: Mapping[str, object]) -> None:
        """Check a revocation list's signature."""
        ...
