"""``iat`` and ``exp`` of an SD-JWT VC, chosen so that the credentials of one batch cannot be linked by them.

Policy (docs/sd-jwt-vc.md): a credential does not say when exactly it was issued. Its ``iat`` is a whole second
drawn at random, per credential, from the window before the issuance: 24 hours, or a tenth of the credential's
validity when that is shorter; its ``exp`` is ``iat`` + ``expiresIn``. So the credentials of one batch carry
different times (two equal ones are as likely as for any two credentials issued that day), and a verifier learns
the issuance time only to within the window. There is no ``nbf``: the credential is valid from ``iat``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from openissuer.formats.base import RandomBytes

MAX_IAT_WINDOW = timedelta(hours=24)
IAT_WINDOW_SHARE = 10  # at most a tenth of the validity


@dataclass(frozen=True)
class CredentialTimes:
    """The ``iat`` and ``exp`` of one credential, UTC, whole seconds."""

    issued_at: datetime
    expires_at: datetime


def compute_credential_times(now: datetime, expires_in: timedelta, random_bytes: RandomBytes) -> CredentialTimes:
    """Return ``iat`` (a random second in the window before ``now``) and ``exp`` (``iat`` + ``expires_in``)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if expires_in <= timedelta(0):
        raise ValueError("expires_in must be positive")
    window = int(min(MAX_IAT_WINDOW, expires_in / IAT_WINDOW_SHARE).total_seconds())
    offset = int.from_bytes(random_bytes(8), "big") % (window + 1)
    issued_at = now.astimezone(UTC).replace(microsecond=0) - timedelta(seconds=offset)
    return CredentialTimes(
        issued_at=issued_at, expires_at=issued_at + timedelta(seconds=int(expires_in.total_seconds()))
    )
