"""Audit events (reference platform §11.3): what happened, when, at whose request, with sanitised data.

An event is written in the same transaction as the change it records. Its ``type`` follows the reference
platform's ``<CATEGORY>_<OPERATION>_<OUTCOME>`` names; ``EVENT_KINDS`` lists every type openissuer writes (also
reserved ones that other components add). ``data`` never holds personal data or secrets: claim values, codes,
proofs, tokens and keys stay out, by construction (each writer puts in ids and names only) and by
``sanitise_event_data``, which every event goes through.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class EventCategory(enum.StrEnum):
    """The area an event belongs to (the ``categories`` filter of ``GET /v1/events``)."""

    OPENID = "openid"
    CREDENTIAL_CONFIGURATION = "credential-configuration"
    MOBILE_CREDENTIAL = "mobile-credential"
    API_CLIENT = "api-client"
    USER = "user"
    WEBHOOK = "webhook"
    CLAIM_SOURCE = "claim-source"
    CREDENTIAL_STATUS = "credential-status"


@dataclass(frozen=True)
class EventKind:
    """An event type, its category and what it records (the documentation of the type)."""

    type: str
    category: EventCategory
    description: str


def _kind(type: str, category: EventCategory, description: str) -> EventKind:
    return EventKind(type, category, description)


_O, _C, _M = EventCategory.OPENID, EventCategory.CREDENTIAL_CONFIGURATION, EventCategory.MOBILE_CREDENTIAL
_A, _U, _W = EventCategory.API_CLIENT, EventCategory.USER, EventCategory.WEBHOOK

OFFER_CREATED = _kind("OPENID_PRE_AUTHORIZED_OFFER_CREATE_SUCCESS", _O, "a pre-authorized offer was created")
OFFER_REVOKED = _kind("OPENID_PRE_AUTHORIZED_OFFER_REVOKE_SUCCESS", _O, "a pre-authorized offer was revoked")
OFFER_REDEEMED = _kind(
    "OPENID_PRE_AUTHORIZED_OFFER_REDEEM_SUCCESS", _O, "a pre-authorized code was exchanged for an access token"
)
OFFER_LOCKED = _kind(
    "OPENID_PRE_AUTHORIZED_OFFER_LOCK_SUCCESS", _O, "an offer was locked for good after wrong transaction codes"
)
AUTHORIZATION_OFFER_CREATED = _kind("OPENID_OFFER_CREATE_SUCCESS", _O, "an Authorization Code offer was created")
TOKEN_ISSUED = _kind(
    "OPENID_TOKEN_CREATE_SUCCESS", _O, "an access token was issued for an authorization code (see OFFER_REDEEMED)"
)
TOKEN_REFUSED = _kind(
    "OPENID_TOKEN_CREATE_FAIL", _O, "a token request for a known offer or authorization code was refused"
)
CREDENTIAL_ISSUED = _kind("OPENID_CREDENTIAL_ISSUE_SUCCESS", _O, "credentials were issued to a wallet")
CREDENTIAL_REFUSED = _kind(
    "OPENID_CREDENTIAL_ISSUE_FAIL", _O, "a credential request with a live access token was refused"
)
PROVIDER_CREATED = _kind("OPENID_AUTHENTICATION_PROVIDER_CREATE_SUCCESS", _O, "the authentication provider was set")
PROVIDER_UPDATED = _kind("OPENID_AUTHENTICATION_PROVIDER_UPDATE_SUCCESS", _O, "the authentication provider changed")
PROVIDER_DELETED = _kind("OPENID_AUTHENTICATION_PROVIDER_DELETE_SUCCESS", _O, "the authentication provider was removed")
WALLET_CLIENT_CREATED = _kind("OPENID_CLIENT_CREATE_SUCCESS", _O, "a wallet (OAuth) client was registered")
WALLET_CLIENT_UPDATED = _kind("OPENID_CLIENT_UPDATE_SUCCESS", _O, "a wallet (OAuth) client changed")
WALLET_CLIENT_DELETED = _kind("OPENID_CLIENT_DELETE_SUCCESS", _O, "a wallet (OAuth) client was removed")
HOOK_CONFIGURED = _kind(
    "OPENID_CONFIGURATION_UPDATE_SUCCESS", _O, "the interaction hook was configured, changed or removed"
)
HOOK_COMPLETED = _kind("OPENID_INTERACTION_HOOK_COMPLETE_SUCCESS", _O, "an interaction hook returned the user")
HOOK_FAILED = _kind("OPENID_INTERACTION_HOOK_COMPLETE_FAIL", _O, "an interaction hook failed or was refused")
CONFIGURATION_CREATED = _kind("CREDENTIAL_CONFIGURATION_CREATE_SUCCESS", _C, "a credential configuration was created")
CONFIGURATION_UPDATED = _kind("CREDENTIAL_CONFIGURATION_UPDATE_SUCCESS", _C, "a credential configuration changed")
CONFIGURATION_DELETED = _kind("CREDENTIAL_CONFIGURATION_DELETE_SUCCESS", _C, "a credential configuration was deleted")
IACA_CREATED = _kind("MOBILE_CREDENTIAL_IACA_CREATE_SUCCESS", _M, "an IACA was created")
IACA_UPDATED = _kind("MOBILE_CREDENTIAL_IACA_UPDATE_SUCCESS", _M, "an IACA was activated or deactivated")
IACA_DELETED = _kind("MOBILE_CREDENTIAL_IACA_DELETE_SUCCESS", _M, "an IACA and its signers were deleted")
API_CLIENT_CREATED = _kind("API_CLIENT_CREATE_SUCCESS", _A, "a management API client was created")
API_CLIENT_DELETED = _kind("API_CLIENT_DELETE_SUCCESS", _A, "a management API client was deleted")
USER_CREATED = _kind("USER_CREATE_SUCCESS", _U, "a user was created")
USER_UPDATED = _kind("USER_UPDATE_SUCCESS", _U, "a user's persisted claims changed (names only are recorded)")
USER_DELETED = _kind("USER_DELETE_SUCCESS", _U, "a user and its persisted claims were deleted")
WEBHOOK_CREATED = _kind("WEBHOOK_CREATE_SUCCESS", _W, "a webhook was created")
WEBHOOK_UPDATED = _kind("WEBHOOK_UPDATE_SUCCESS", _W, "a webhook changed")
WEBHOOK_DELETED = _kind("WEBHOOK_DELETE_SUCCESS", _W, "a webhook and its pending deliveries were deleted")
WEBHOOK_DELIVERY_FAILED = _kind(
    "WEBHOOK_DELIVERY_FAIL", _W, "a delivery was given up after the last attempt (it can be redelivered)"
)
WEBHOOK_REDELIVERED = _kind("WEBHOOK_REDELIVER_SUCCESS", _W, "failed deliveries were queued again")
WEBHOOK_KEY_CREATED = _kind("WEBHOOK_SIGNING_KEY_CREATE_SUCCESS", _W, "a new webhook signing key was made (rotation)")
CLAIM_SOURCE_CREATED = _kind("CLAIM_SOURCE_CREATE_SUCCESS", EventCategory.CLAIM_SOURCE, "a claims source was created")
CLAIM_SOURCE_UPDATED = _kind("CLAIM_SOURCE_UPDATE_SUCCESS", EventCategory.CLAIM_SOURCE, "a claims source changed")
CLAIM_SOURCE_DELETED = _kind("CLAIM_SOURCE_DELETE_SUCCESS", EventCategory.CLAIM_SOURCE, "a claims source was deleted")
CLAIM_SOURCE_CALLED = _kind("CLAIM_SOURCE_CALL_SUCCESS", EventCategory.CLAIM_SOURCE, "a claims source answered")
CLAIM_SOURCE_FAILED = _kind("CLAIM_SOURCE_CALL_FAIL", EventCategory.CLAIM_SOURCE, "a claims source call failed")
STATUS_CHANGED = _kind(
    "CREDENTIAL_STATUS_UPDATE_SUCCESS", EventCategory.CREDENTIAL_STATUS, "an issued credential's status changed"
)

EVENT_KINDS: dict[str, EventKind] = {
    kind.type: kind for kind in list(globals().values()) if isinstance(kind, EventKind)
}


@dataclass(frozen=True)
class Event:
    """One audit event of a tenant. ``created_at`` is its timestamp; ``client_id`` the management API client (or,
    on the wallet side, the OAuth client) that caused it, when known; ``request_id`` the request's id."""

    id: str
    tenant_id: str
    type: str
    category: str
    created_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    client_id: str | None = None


@dataclass(frozen=True)
class EventQuery:
    """``GET /v1/events`` filters: categories and types are OR-ed, the rest AND-ed (reference §11.3)."""

    date_from: datetime | None = None
    date_to: datetime | None = None
    client_ids: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


MAX_DATA_KEYS = 32
MAX_DATA_DEPTH = 3
MAX_LIST_ITEMS = 50
MAX_STRING_LENGTH = 256
MAX_KEY_LENGTH = 64
# Keys (compared lower-case without "_" and "-") whose values are secrets or personal data: dropped.
_DENIED_KEYS = frozenset(
    {
        "claims",
        "userclaims",
        "credential",
        "credentials",
        "value",
        "values",
        "jwk",
        "jwks",
        "authorization",
        "idtoken",
        "request",
        "body",
    }
)
_DENIED_SUFFIXES = ("secret", "token", "password", "code", "proof", "proofs", "nonce", "verifier", "key", "cookie")
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$")
REDACTED = "[redacted]"


@functools.lru_cache(maxsize=4096)  # the keys are the writers' few names; every event checks each of them
def is_denied_key(key: str) -> bool:
    """Tell whether a data key names a secret or personal data (its value is never recorded)."""
    normalised = key.lower().replace("_", "").replace("-", "")
    return normalised in _DENIED_KEYS or normalised.endswith(_DENIED_SUFFIXES)


def sanitise_event_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``data`` fit for the event log: bounded in size and free of secret-like or personal members.

    Members named like secrets or personal data (``claims``, ``credential``, ``*_code``, ``*token``, ``proof``,
    ``nonce``, ``*key`` …) are dropped, JWT-shaped strings are replaced, strings are cut at 256 characters, lists
    at 50 items, objects at 32 members and nesting at 3 levels. Writers put in ids and names only; this is the
    second line of defence for whatever a future writer adds.
    """
    return _sanitise_object(data, 1)


def _sanitise_object(data: Mapping[str, Any], depth: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in data.items():
        if len(result) >= MAX_DATA_KEYS:
            break
        name = str(key)[:MAX_KEY_LENGTH]
        if is_denied_key(name):
            continue
        result[name] = _sanitise_value(value, depth)
    return result


def _sanitise_value(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return REDACTED if _JWT_SHAPE.match(value) else value[:MAX_STRING_LENGTH]
    if isinstance(value, Mapping):
        return _sanitise_object(value, depth + 1) if depth < MAX_DATA_DEPTH else {}
    if isinstance(value, list | tuple | set | frozenset):
        if depth >= MAX_DATA_DEPTH:
            return []
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return [_sanitise_value(item, depth + 1) for item in items[:MAX_LIST_ITEMS]]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)[:MAX_STRING_LENGTH]


def new_event(
    kind: EventKind,
    *,
    id: str,
    tenant_id: str,
    now: datetime,
    data: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    client_id: str | None = None,
) -> Event:
    """Return an event of ``kind`` with its data sanitised."""
    return Event(
        id=id,
        tenant_id=tenant_id,
        type=kind.type,
        category=kind.category.value,
        created_at=now,
        data=sanitise_event_data(data or {}),
        request_id=request_id,
        client_id=None if client_id is None else client_id[:MAX_STRING_LENGTH],
    )
