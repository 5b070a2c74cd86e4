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


@dataclass(frozen=True)
class UserSearch:
    """A users search (reference §5.2 ``POST /v1/users/search``): every given field must match exactly.

    ``claims`` is matched recursively: an object in the filter matches an object that has each of its keys with
    a matching value (other keys may exist); an array matches an array of the same length whose elements match in
    order; any other value must be equal and of the same JSON type (``1`` and ``1.0`` are equal, ``true`` and ``1``
    are not). ``provider_id`` / ``subject_id`` match the user's
    authentication provider and subject. An empty search matches every user.
    """

    claims: dict[str, Any] | None = None
    provider_id: str | None = None
    subject_id: str | None = None

    def matches(self, user: User) -> bool:
        """Tell whether ``user`` satisfies every given field."""
        if self.provider_id is not None and user.authentication_provider_id != self.provider_id:
            return False
        if self.subject_id is not None and user.subject_id != self.subject_id:
            return False
        return self.claims is None or claims_match(self.claims, user.claims)


def claims_match(wanted: object, actual: object) -> bool:
    """Tell whether ``actual`` matches the filter ``wanted`` (see ``UserSearch``)."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            key in actual and claims_match(value, actual[key]) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(wanted)
            and all(claims_match(w, a) for w, a in zip(wanted, actual, strict=True))
        )
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return isinstance(wanted, bool) and isinstance(actual, bool) and wanted == actual
    if isinstance(wanted, int | float) and isinstance(actual, int | float):
        return wanted == actual
    return type(wanted) is type(actual) and wanted == actual
