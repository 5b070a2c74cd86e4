"""Coerce claim values to ``date`` (ISO full-date, CBOR tag 1004) and ``dateTime`` (RFC 3339, CBOR tag 0).

Decisions (reference §4.3 notes MATTR's own example maps a full-date ``birth_date`` with ``dateTime``, so both
directions are accepted and the mapping's ``type`` decides the result):

- ``date`` accepts a full-date (``1990-05-17``) or an RFC 3339 date-time, whose **calendar date as written** is
  taken without converting to UTC (``1990-05-17T00:00:00+10:00`` -> 1990-05-17, not the 16th).
- ``dateTime`` accepts an RFC 3339 date-time with an offset (``Z``/``z`` or ``±hh:mm``; ``-00:00`` means UTC), a
  full-date (midnight UTC), or a JSON number of seconds since the Unix epoch (UTC, as in ID token ``updated_at``).
  The result is always timezone-aware and keeps the offset it was written with; formats normalise to UTC.
  Fractions beyond microseconds are truncated; a leap second (``:60``) is rejected.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone

from openissuer.claims.claim_type import ClaimType, ClaimTypeError, describe_json_type

_FULL_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_DATE_TIME_FORMAT = "an RFC 3339 date-time such as 2024-05-17T09:30:00Z"


def coerce_date(value: object) -> date:
    """Return ``value`` as a calendar date; raise ``ClaimTypeError`` if it is not a full-date or date-time."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ClaimTypeError(ClaimType.DATE, f"expected a full-date string, got {describe_json_type(value)}")
    if _FULL_DATE.fullmatch(value):
        return _parse_full_date(ClaimType.DATE, value)
    if match := _DATE_TIME.fullmatch(value):
        return _parse_date_time(ClaimType.DATE, match).date()
    raise ClaimTypeError(ClaimType.DATE, "expected an ISO 8601 full-date (YYYY-MM-DD) or " + _DATE_TIME_FORMAT)


def coerce_date_time(value: object) -> datetime:
    """Return ``value`` as a timezone-aware datetime; raise ``ClaimTypeError`` if it is not one."""
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ClaimTypeError(ClaimType.DATE_TIME, "the date-time has no timezone offset")
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch_seconds(value)
    if not isinstance(value, str):
        raise ClaimTypeError(ClaimType.DATE_TIME, f"expected a date-time string, got {describe_json_type(value)}")
    if match := _DATE_TIME.fullmatch(value):
        return _parse_date_time(ClaimType.DATE_TIME, match)
    if _FULL_DATE.fullmatch(value):
        day = _parse_full_date(ClaimType.DATE_TIME, value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    raise ClaimTypeError(ClaimType.DATE_TIME, f"expected {_DATE_TIME_FORMAT} (with an offset) or a full-date")


def _parse_full_date(claim_type: ClaimType, text: str) -> date:
    year, month, day = (int(part) for part in text.split("-"))
    try:
        return date(year, month, day)
    except ValueError:
        raise ClaimTypeError(claim_type, "not a valid calendar date") from None


def _parse_date_time(claim_type: ClaimType, match: re.Match[str]) -> datetime:
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction, offset_text = match.group(7), match.group(8)
    if second == 60:
        raise ClaimTypeError(claim_type, "leap seconds (:60) cannot be represented")
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=_parse_offset(offset_text))
    except ValueError:
        raise ClaimTypeError(claim_type, "not a valid calendar date, time of day or offset") from None


def _parse_offset(text: str) -> timezone:
    if text in ("Z", "z"):
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta) if delta else UTC


def _from_epoch_seconds(value: float) -> datetime:
    if not math.isfinite(value):
        raise ClaimTypeError(ClaimType.DATE_TIME, "epoch seconds must be a finite number")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ClaimTypeError(ClaimType.DATE_TIME, "epoch seconds out of the representable range") from None
