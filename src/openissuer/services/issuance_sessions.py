"""The issuance session of a credential (reference §5.2 ``sessionId``): one id per access grant, shown on every
record of a credential the grant obtained, so an integrator can tell which credentials a wallet got together (a
batch, the formats of a multi-format offer).

The id is derived from the grant's secret notification id by HMAC, in the UUID form (version 8, RFC 9562 §5.8):
stable, nothing stored, and it tells nothing about the secret or the access token.
"""

from __future__ import annotations

import hmac

from openissuer.domain.ids import uuid_text
from openissuer.domain.offers import AccessGrant

_LABEL = b"openissuer/issuance-session"


def session_id_for(grant: AccessGrant) -> str:
    """Return the session id of the grant's credentials."""
    return uuid_text(hmac.digest(grant.notification_id.encode(), _LABEL, "sha256")[:16], "8")  # version 8
