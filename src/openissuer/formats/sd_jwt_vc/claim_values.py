"""Mapped claim values as JSON (an SD-JWT VC payload is JSON, RFC 9901 §4): how the typed values travel.

- ``date`` -> ``"YYYY-MM-DD"`` (RFC 3339 full-date, as OpenID Connect's ``birthdate``);
- ``dateTime`` -> ``"YYYY-MM-DDThh:mm:ssZ"`` in UTC (RFC 3339), fractions of a second dropped;
- ``bytes`` -> unpadded base64url text (the JOSE convention for binary values in JSON);
- strings, numbers, booleans, arrays and objects as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from openissuer.crypto.base64url import encode_base64url


def encode_claim_value(value: Any) -> Any:
    """Return ``value`` with every date, date-time and byte string as JSON text (recursively)."""
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a dateTime claim must be timezone-aware")
        return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return encode_base64url(bytes(value))
    if isinstance(value, Mapping):
        return {str(key): encode_claim_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode_claim_value(item) for item in value]
    raise ValueError(f"a claim value of type {type(value).__name__} has no JSON form")
