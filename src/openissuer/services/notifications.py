"""The notification endpoint (OID4VCI 1.0 §11): the wallet reports whether the credentials were accepted."""

from __future__ import annotations

import hmac
import logging

from openissuer.domain.offers import GrantState
from openissuer.errors import InvalidNotificationIdError
from openissuer.protocol.notification import NotificationRequest

log = logging.getLogger("openissuer.notifications")


class NotificationService:
    """Accept notifications for the grant that received the ``notification_id``."""

    async def notify(self, context: GrantState, request: NotificationRequest) -> None:
        """Record the event; an id that is not this grant's is ``invalid_notification_id``. Idempotent."""
        if not hmac.compare_digest(request.notification_id.encode(), context.grant.notification_id.encode()):
            raise InvalidNotificationIdError("Unknown notification_id")
        log.info(
            "wallet notification",
            extra={"offer_id": context.grant.offer_id, "event": request.event, "user_id": context.grant.user_id},
        )
