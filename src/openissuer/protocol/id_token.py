"""Checks of an upstream OpenID provider's ID token claims (OpenID Connect Core 1.0 §3.1.3.7)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any


class IdTokenError(ValueError):
    """The ID token fails a rule; the message says which (it never contains claim values)."""


def verify_id_token_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: datetime,
    leeway: timedelta = timedelta(seconds=60),
) -> str:
    """Check ``iss``, ``aud``/``azp``, ``exp``, ``iat`` and ``nonce``; return ``sub``.

    Core §3.1.3.7: "The Issuer Identifier ... MUST exactly match the value of the iss Claim"; "The Client MUST
    validate that the aud Claim contains its client_id"; "The current time MUST be before the time represented by
    the exp Claim"; the nonce "MUST be checked to verify that it is the same value as the one that was sent".
    """
    if claims.get("iss") != issuer:
        raise IdTokenError("iss is not the provider's issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise IdTokenError("aud does not contain our client_id")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IdTokenError("azp must be our client_id when there are several audiences")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or now.timestamp() >= exp + leeway.total_seconds():
        raise IdTokenError("the ID token is expired (exp)")
    if not isinstance(iat, int | float) or isinstance(iat, bool) or iat > now.timestamp() + leeway.total_seconds():
        raise IdTokenError("iat is missing or in the future")
    if claims.get("nonce") != nonce:
        raise IdTokenError("nonce does not match the one we sent")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise IdTokenError("sub is missing")
    return subject
