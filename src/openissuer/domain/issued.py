"""Records of issued credentials: what was issued to whom, without any claim value (reference platform §5.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class IssuedCredentialRecord:
    """Metadata of one issued credential. ``digests`` is ``{namespace: {element: {digestID, digest}}}``."""

    id: str
    tenant_id: str
    configuration_id: str
    profile: str
    doctype: str
    device_key: dict[str, Any]
    digests: dict[str, dict[str, dict[str, Any]]]
    mso_hash: str
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    status: str = "valid"
    user_id: str | None = None
    offer_id: str | None = None
    signer_id: str | None = None
