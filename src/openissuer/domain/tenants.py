"""Tenants: isolated issuers sharing one deployment. Every stored row belongs to one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Tenant:
    """An isolated issuer. ``public_url`` None means "the deployment's configured public URL"."""

    id: str
    name: str
    created_at: datetime
    public_url: str | None = None
