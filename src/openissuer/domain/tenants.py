"""Tenants: isolated issuers sharing one deployment. Every stored row belongs to one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Tenant:
    """An isolated issuer with its own public URL (its credential issuer identifier and its host).

    ``public_url`` None means "the deployment's configured public URL" (``OPENISSUER_PUBLIC_URL``); only the
    default tenant has none. ``config_version`` grows with every change to what issuance reads (configurations,
    IACAs, signers, ...), so a process can cache those and notice a change made by another process.
    """

    id: str
    name: str
    created_at: datetime
    public_url: str | None = None
    config_version: int = 0
