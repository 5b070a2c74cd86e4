"""Status list configurations (reference §10.1): how long the status list tokens of one credential type live.

One per credential type (``docType`` for mDocs, ``vct`` for SD-JWT VCs) and profile. ``time_to_live`` is the
token's ``ttl`` (how long a verifier may cache it, and how long openissuer serves one signed token), ``expiry`` the
span from its ``iat`` to its ``exp``. Without a configuration the defaults below apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from openissuer.domain.durations import Duration

DEFAULT_TIME_TO_LIVE = Duration(hours=12)
DEFAULT_EXPIRY = Duration(days=2)


@dataclass(frozen=True)
class StatusListConfiguration:
    """The token lifetimes of one credential type's status lists."""

    id: str
    tenant_id: str
    profile: str
    credential_type: str
    time_to_live: Duration
    expiry: Duration
    created_at: datetime
    updated_at: datetime
