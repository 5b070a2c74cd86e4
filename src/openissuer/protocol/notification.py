"""Notification requests (OID4VCI 1.0 §11): the wallet tells the issuer what became of the credentials."""

from __future__ import annotations

from dataclasses import dataclass

from openissuer.errors import InvalidNotificationRequestError

EVENTS = frozenset({"credential_accepted", "credential_failure", "credential_deleted"})


@dataclass(frozen=True)
class NotificationRequest:
    """A parsed notification."""

    notification_id: str
    event: str
    event_description: str | None


def parse_notification_request(body: object) -> NotificationRequest:
    """Parse ``{notification_id, event, event_description?}``; unknown members are ignored."""
    if not isinstance(body, dict):
        raise InvalidNotificationRequestError("The notification must be a JSON object")
    notification_id, event = body.get("notification_id"), body.get("event")
    description = body.get("event_description")
    if not isinstance(notification_id, str) or not notification_id:
        raise InvalidNotificationRequestError("notification_id is required")
    if event not in EVENTS:
        raise InvalidNotificationRequestError(f"event must be one of {', '.join(sorted(EVENTS))}")
    if description is not None and not isinstance(description, str):
        raise InvalidNotificationRequestError("event_description must be a string")
    return NotificationRequest(notification_id=notification_id, event=str(event), event_description=description)
