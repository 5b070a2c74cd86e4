"""How the issuance pipeline gets the key that signs a credential: one provider per ``SignerKind``.

A format names the kind of key it needs; bootstrap registers one provider per kind. Providers cache what they read
per tenant configuration version, and create or rotate keys themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from openissuer.crypto.signer import Signer


@dataclass(frozen=True)
class SelectedSigner:
    """The key that signs a credential: its stored id (kept on the issued-credential record), its Signer, and the
    authority that certified it (an IACA's id; None for a key without one), which a status list of the credential
    must be signed under."""

    signer_id: str
    signer: Signer
    authority_id: str | None = None


class CredentialSigners(Protocol):
    """Select the key of one kind that signs a tenant's credential."""

    async def signer_for(self, tenant_id: str, version: int, valid_until: datetime) -> SelectedSigner:
        """Return a key of the tenant that may sign a credential valid until ``valid_until``, as of configuration
        ``version`` or later; raise CredentialRequestDeniedError when there is none and none can be made."""
        ...
