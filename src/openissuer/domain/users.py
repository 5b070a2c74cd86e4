"""Users: the holders an issuer knows, with the claims it keeps about them (reference platform §5.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class User:
    """A holder record; ``claims`` are only the persisted ones (an offer's ``claimsToPersist``)."""

    id: str
    tenant_id: str
    claims: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    authentication_provider_id: str | None = None
    subject_id: str | None = None
