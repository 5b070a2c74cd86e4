"""The MSO validityInfo window and its limits (formats/mso_mdoc/validity.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.crypto.certificate_info import read_certificate_info
from openissuer.errors import CredentialRequestDeniedError
from openissuer.formats.base import RequestedValidity, UnusableSignerError
from openissuer.formats.mso_mdoc.validity import compute_validity_window, find_validity_problem

MDL = "org.iso.18013.5.1.mDL"
OTHER = "org.example.membership"


def _window(
    signer: SoftwareSigner,
    now: datetime,
    *,
    expires_in: timedelta = timedelta(days=30),
    doc_type: str = MDL,
    requested: RequestedValidity | None = None,
) -> tuple[datetime, datetime, datetime]:
    window = compute_validity_window(
        now=now, expires_in=expires_in, doc_type=doc_type, requested=requested, certificate_chain=signer.x5c
    )
    return window.signed, window.valid_from, window.valid_until


def test_default_window_starts_at_issuance_and_lasts_expires_in(document_signer: SoftwareSigner, now: datetime) -> None:
    signed, valid_from, valid_until = _window(document_signer, now + timedelta(microseconds=999))
    assert signed == valid_from == now
    assert valid_until == now + timedelta(days=30)
    assert signed.tzinfo is UTC


def test_mapped_valid_from_is_never_before_signed(document_signer: SoftwareSigner, now: datetime) -> None:
    past = RequestedValidity(valid_from=now - timedelta(days=400))
    assert _window(document_signer, now, requested=past)[1] == now
    future = RequestedValidity(valid_from=now + timedelta(days=2))
    _, valid_from, valid_until = _window(document_signer, now, requested=future)
    assert valid_from == now + timedelta(days=2)
    assert valid_until == now + timedelta(days=30)  # "even if validFrom is given, expiry = issuance + expiresIn"


def test_mapped_valid_until_wins_over_expires_in(document_signer: SoftwareSigner, now: datetime) -> None:
    requested = RequestedValidity(valid_until=now + timedelta(days=100, microseconds=5))
    assert _window(document_signer, now, requested=requested)[2] == now + timedelta(days=100)


def test_valid_until_must_follow_valid_from(document_signer: SoftwareSigner, now: datetime) -> None:
    requested = RequestedValidity(valid_from=now + timedelta(days=40))
    with pytest.raises(CredentialRequestDeniedError, match="not later"):
        _window(document_signer, now, requested=requested)


def test_an_mdl_is_valid_for_less_than_427_days(now: datetime) -> None:
    assert find_validity_problem(MDL, timedelta(days=426, hours=23)) is None
    assert find_validity_problem(MDL, timedelta(days=427)) is not None
    assert find_validity_problem("org.iso.18013.5.2.mDL", timedelta(days=427)) is not None
    assert find_validity_problem(OTHER, timedelta(days=3620)) is None
    assert find_validity_problem(OTHER, timedelta(days=3620, seconds=1)) is not None


def test_issuance_time_limits_apply_to_mapped_validity(document_signer: SoftwareSigner, now: datetime) -> None:
    with pytest.raises(CredentialRequestDeniedError, match="427"):
        _window(document_signer, now, requested=RequestedValidity(valid_until=now + timedelta(days=427)))


def test_the_credential_never_outlives_its_certificate(document_signer: SoftwareSigner, now: datetime) -> None:
    certificate_left = read_certificate_info(document_signer.x5c[0]).not_after - now
    _window(document_signer, now, doc_type=OTHER, expires_in=certificate_left)
    with pytest.raises(CredentialRequestDeniedError, match="outlive"):
        _window(document_signer, now, doc_type=OTHER, expires_in=certificate_left + timedelta(seconds=1))


def test_the_certificate_must_be_valid_at_issuance(document_signer: SoftwareSigner, now: datetime) -> None:
    with pytest.raises(UnusableSignerError):
        _window(document_signer, now - timedelta(days=1))
    with pytest.raises(UnusableSignerError):
        _window(SoftwareSigner.generate(), now)


def test_naive_times_are_refused(document_signer: SoftwareSigner) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _window(document_signer, datetime(2030, 1, 1))
