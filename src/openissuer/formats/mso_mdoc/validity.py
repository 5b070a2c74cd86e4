"""The MSO ``validityInfo`` window and the limits on it (reference §4.2 ``expiresIn``; ISO/IEC 18013-5 §9.1.2.4).

- ``signed`` is the issuance time; ``validFrom`` is the mapped start or issuance, never earlier than ``signed``
  (§9.1.2.4: "The timestamp of validFrom shall be equal or later than the signed element");
- ``validUntil`` is the mapped end or issuance + ``expiresIn`` ("even if validFrom is given, expiry = issuance +
  expiresIn"), later than ``validFrom``;
- at most 3620 days after issuance, and less than 427 days for an mDL docType (``org.iso.18013.5.<n>.mDL``);
- never past any certificate of the signer's chain (§4.2: "never beyond the signing IACA's validity").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from openissuer.crypto.certificate_info import read_certificate_info
from openissuer.errors import CredentialRequestDeniedError
from openissuer.formats.base import RequestedValidity, UnusableSignerError

MDL_DOC_TYPE = re.compile(r"org\.iso\.18013\.5\.[1-9][0-9]*\.mDL")
MDL_VALIDITY_LIMIT = timedelta(days=427)  # exclusive: "validity must be < 427 days"
VALIDITY_LIMIT = timedelta(days=3620)  # inclusive


@dataclass(frozen=True)
class ValidityWindow:
    """The three ``validityInfo`` times, in UTC, whole seconds."""

    signed: datetime
    valid_from: datetime
    valid_until: datetime


def find_validity_problem(doc_type: str, validity: timedelta) -> str | None:
    """Return why a credential valid for ``validity`` after issuance may not be issued, or None if it may."""
    if validity <= timedelta(0):
        return "must be a positive duration"
    if MDL_DOC_TYPE.fullmatch(doc_type):
        if validity >= MDL_VALIDITY_LIMIT:
            return f"must be less than {MDL_VALIDITY_LIMIT.days} days for an mDL"
    elif validity > VALIDITY_LIMIT:
        return f"must not exceed {VALIDITY_LIMIT.days} days"
    return None


def compute_validity_window(
    *,
    now: datetime,
    expires_in: timedelta,
    doc_type: str,
    requested: RequestedValidity | None,
    certificate_chain: Sequence[bytes],
) -> ValidityWindow:
    """Return the validity window of a credential signed at ``now``, or raise when the rules forbid it.

    CredentialRequestDeniedError for a window the profile forbids; UnusableSignerError when the signer's
    certificate chain is missing or not valid at ``now``.
    """
    signed = _utc_seconds(now)
    requested = requested or RequestedValidity()
    valid_from = max(_utc_seconds(requested.valid_from), signed) if requested.valid_from else signed
    valid_until = _utc_seconds(requested.valid_until) if requested.valid_until else signed + expires_in
    valid_until = valid_until.replace(microsecond=0)
    if valid_until <= valid_from:
        raise CredentialRequestDeniedError("The credential's validUntil is not later than its validFrom")
    problem = find_validity_problem(doc_type, valid_until - signed)
    if problem is not None:
        raise CredentialRequestDeniedError(f"The credential's validity {problem}")
    if not certificate_chain:
        raise UnusableSignerError("the signer has no document-signer certificate")
    for certificate in certificate_chain:
        info = read_certificate_info(certificate)
        if not info.not_before <= signed <= info.not_after:
            raise UnusableSignerError("a certificate of the signer's chain is not valid at the issuance time")
        if valid_until > info.not_after:
            raise CredentialRequestDeniedError("The credential would outlive its signing certificate")
    return ValidityWindow(signed=signed, valid_from=valid_from, valid_until=valid_until)


def _utc_seconds(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)
