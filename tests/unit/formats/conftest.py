"""Shared fixtures for format tests: an IACA, a document signer issued by it, a holder key, seeded randomness."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.crypto.x509 import build_document_signer_certificate, build_iaca_certificate
from openissuer.formats.base import RandomBytes


@pytest.fixture(scope="session")
def now() -> datetime:
    """The issuance time; independent verifiers check certificates against the real clock, so it is real."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def iaca_signer() -> SoftwareSigner:
    return SoftwareSigner.generate()


@pytest.fixture(scope="session")
def iaca_certificate(iaca_signer: SoftwareSigner, now: datetime) -> bytes:
    return build_iaca_certificate(
        iaca_signer,
        country="NZ",
        common_name="Example IACA",
        issuer_alternative_name_uri="https://issuer.example.com",
        crl_distribution_point_uri="https://issuer.example.com/crl",
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=3650),
    )


@pytest.fixture(scope="session")
def document_signer(iaca_signer: SoftwareSigner, iaca_certificate: bytes, now: datetime) -> SoftwareSigner:
    """A document signer whose x5c holds its certificate, valid from an hour ago for 450 days from ``now``."""
    signer = SoftwareSigner.generate()
    certificate = build_document_signer_certificate(
        iaca_certificate,
        iaca_signer,
        signer.public_jwk,
        common_name="example.com Document Signer",
        not_before=now - timedelta(hours=1),
        not_after=now + timedelta(days=450),
    )
    return signer.with_x5c([certificate])


@pytest.fixture
def holder() -> SoftwareSigner:
    return SoftwareSigner.generate()


@pytest.fixture
def seeded_random() -> RandomBytes:
    return random.Random(42).randbytes
