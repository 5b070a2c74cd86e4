"""The notification endpoint (OID4VCI 1.0 §11): the wallet reports whether the credentials were accepted.

One access grant may obtain credentials of several configurations (a multi-format offer: an mDL, a CWT and an
SD-JWT VC of the same person), one Credential Response each. Each response carries the ``notification_id`` of its
configuration (§8.3: it identifies "one or more Credentials issued in one Credential Response"), derived from the
grant's secret notification id, so a notification says which of the credentials it is about and nothing is stored.
"""

from __future__ import annotations

import hmac
import logging

from openissuer.crypto.base64url import encode_base64url
from openissuer.domain.offers import AccessGrant, GrantState
from openissuer.errors import InvalidNotificationIdError
from openissuer.protocol.notification import NotificationRequest

log = logging.getLogger("openissuer.notifications")


def notification_id_for(grant: AccessGrant, configuration_id: str) -> str:
    """Return the ``notification_id`` of the grant's responses for one configuration."""
    mac = hmac.digest(grant.notification_id.encode(), configuration_id.encode(), "sha256")
    return encode_base64url(mac[:24])


class NotificationService:
    """Accept notifications for the grant that received the ``notification_id``."""

    async def notify(self, context: GrantState, request: NotificationRequest) -> None:
        """Record the event for the configuration whose responses carried the id; an id that is none of this
        grant's is ``invalid_notification_id``. Idempotent."""
        grant = context.grant
        given = request.notification_id.encode()
        configuration_id = next(
            (
                cid
                for cid in grant.credential_configuration_ids
                if hmac.compare_digest(given, notification_id_for(grant, cid).encode())
            ),
            None,
        )
        if configuration_id is None:
            raise InvalidNotificationIdError("Unknown notification_id")
        log.info(
            "wallet notification",
            extra={
                "offer_id": grant.offer_id,
                "event": request.event,
                "user_id": grant.user_id,
                "configuration_id": configuration_id,
            },
        )
