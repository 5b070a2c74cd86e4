"""API clients of the management API (client-credentials, reference platform §1.2) and their roles."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    """What an API client may do within its tenant. ``auditor`` is read-only. ``managed-issuer`` (reference §1.2)
    issues on the tenant's existing set-up: offers, users, claims sources and the interaction hook, and reads
    configurations; it cannot change configurations or the PKI. ``platform-admin`` manages the deployment's
    tenants; only clients of the default tenant may hold it, and it grants nothing inside any tenant."""

    ADMIN = "admin"
    ISSUER = "issuer"
    MANAGED_ISSUER = "managed-issuer"
    AUDITOR = "auditor"
    PLATFORM_ADMIN = "platform-admin"


@dataclass(frozen=True)
class ApiClient:
    """A management API client. Only a hash of its secret is ever stored."""

    id: str
    tenant_id: str
    client_id: str
    name: str
    secret_hash: str
    roles: tuple[Role, ...]
    created_at: datetime


@dataclass(frozen=True)
class ManagementPrincipal:
    """Who is calling the management API: a verified access token's subject."""

    tenant_id: str
    client_id: str
    roles: frozenset[Role]

    def has_any(self, allowed: frozenset[Role]) -> bool:
        """Tell whether this principal holds at least one of ``allowed``."""
        return bool(self.roles & allowed)
