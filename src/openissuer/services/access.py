"""Role checks for management operations (reference platform §1.2: each endpoint lists its permitted roles)."""

from __future__ import annotations

from openissuer.domain.api_clients import ManagementPrincipal, Role
from openissuer.errors import ForbiddenError

ADMIN_ONLY = frozenset({Role.ADMIN})
READERS = frozenset({Role.ADMIN, Role.AUDITOR})
ISSUERS = frozenset({Role.ADMIN, Role.ISSUER})
READERS_AND_ISSUERS = frozenset({Role.ADMIN, Role.ISSUER, Role.AUDITOR})
# Reference §1.2: "on newer endpoints managed-issuer" (pre-authorized offers, claims sources, the interaction hook);
# users and configuration reads go with them, since an offer names both.
OPERATORS = frozenset({Role.ADMIN, Role.ISSUER, Role.MANAGED_ISSUER})
READERS_AND_OPERATORS = frozenset({Role.ADMIN, Role.ISSUER, Role.MANAGED_ISSUER, Role.AUDITOR})
PLATFORM_ADMINS = frozenset({Role.PLATFORM_ADMIN})


def authorize(principal: ManagementPrincipal, allowed: frozenset[Role]) -> None:
    """Raise ForbiddenError unless the principal holds one of the ``allowed`` roles."""
    if not principal.has_any(allowed):
        raise ForbiddenError(
            "This API client's role does not permit the operation",
            detail=f"client {principal.client_id} roles {sorted(principal.roles)} not in {sorted(allowed)}",
        )
