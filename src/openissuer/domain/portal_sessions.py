"""A portal session: a person signed in to the portal with a management API client's credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PortalSession:
    """A server-side portal session. Only a hash of its id is stored: the id itself exists only in the cookie, so
    a copy of the database signs nobody in. ``csrf_token`` is the synchronizer token of the session's forms."""

    id_hash: bytes
    tenant_id: str
    api_client_id: str  # the client record's id (ApiClient.id): a client deleted and created again is another
    client_id: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
