"""The interaction hook's session tokens (reference platform §7.2, §7.3): what openissuer sends the hook, and the
checks on what the hook sends back. Pure: signing and verifying the HS256 JWS happen in the caller.

Outbound (openissuer -> hook, ``{hook url}?session_token=…``): ``iss`` the tenant's issuer URL, ``aud`` the hook URL,
``state``, ``redirectUrl`` (where the hook sends the browser back), ``claims`` (those the hook configuration
selects), ``iat``, ``exp``.

Return (hook -> ``redirectUrl?session_token=…``): ``iss`` the hook (its configured URL, or that URL's origin),
``aud`` the tenant's issuer URL, ``state`` unchanged, ``exp``, and either ``claims`` / ``claimsToPersist`` or an
``error`` object that ends the sign-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

# Tolerated difference between the hook's clock and ours when checking exp (seconds).
CLOCK_LEEWAY = 30
MAX_ERROR_MESSAGE = 200


class HookTokenError(ValueError):
    """The returned session token fails a check; the message names the check, never a claim value."""


@dataclass(frozen=True)
class HookReturn:
    """What the hook answered: claims to add and which of them to keep on the user, or an error."""

    state: str
    claims: dict[str, Any] = field(default_factory=dict)
    claims_to_persist: tuple[str, ...] = ()
    error_message: str | None = None


def create_hook_session_claims(
    *,
    issuer: str,
    hook_url: str,
    state: str,
    redirect_url: str,
    claims: Mapping[str, Any],
    now: datetime,
    expires_at: datetime,
) -> dict[str, Any]:
    """Return the payload of the session token sent to the hook (reference §7.2)."""
    payload: dict[str, Any] = {
        "iss": issuer,
        "aud": hook_url,
        "state": state,
        "redirectUrl": redirect_url,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    if claims:
        payload["claims"] = dict(claims)
    return payload


def read_hook_state(payload: Mapping[str, Any]) -> str:
    """Return the ``state`` of a returned token whose signature verified; HookTokenError when it has none."""
    state = payload.get("state")
    if not isinstance(state, str) or not state:
        raise HookTokenError("the session token has no state")
    return state


def verify_hook_return(payload: Mapping[str, Any], *, issuer: str, hook_url: str, now: datetime) -> HookReturn:
    """Check a returned token's claims (its signature was verified): ``aud`` is the issuer, ``iss`` the hook,
    ``exp`` present and not passed (``CLOCK_LEEWAY``), ``state`` present; then read ``claims``,
    ``claimsToPersist`` or ``error``."""
    state = read_hook_state(payload)
    if hook_url.rstrip("/") == issuer.rstrip("/"):
        # The token sent to the hook (iss the issuer, aud the hook URL) would pass every check below when both are
        # one URL: a browser could hand it straight back and skip the hook.
        raise HookTokenError("the hook's URL is the issuer's own, so the hook's answer cannot be told from ours")
    audience = payload.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if issuer not in audiences:
        raise HookTokenError("the session token is not addressed to this issuer (aud)")
    if payload.get("iss") not in {hook_url, _origin(hook_url)}:
        raise HookTokenError("the session token was not issued by the configured hook (iss)")
    expires = payload.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise HookTokenError("the session token has no exp")
    if now.timestamp() >= expires + CLOCK_LEEWAY:
        raise HookTokenError("the session token has expired")
    if "error" in payload:
        return HookReturn(state, error_message=_error_message(payload["error"]))
    claims = payload.get("claims", {})
    if not isinstance(claims, dict):
        raise HookTokenError("claims must be an object")
    persist = payload.get("claimsToPersist", [])
    if not isinstance(persist, list) or not all(isinstance(name, str) for name in persist):
        raise HookTokenError("claimsToPersist must be an array of claim names")
    return HookReturn(state, claims=dict(claims), claims_to_persist=tuple(n for n in persist if n in claims))


def _error_message(error: object) -> str:
    message = error.get("message") if isinstance(error, dict) else error
    return str(message)[:MAX_ERROR_MESSAGE] if message is not None else ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
