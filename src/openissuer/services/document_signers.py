"""Managed document signers (reference platform §8.1, §8.3): chosen, created and rotated under the active IACA.

A signer is used while it is younger than the rotation age and its certificate covers the credential's whole
validity; otherwise a new one is created, valid for the configured validity or as long as the credential needs,
within ISO 18013-5's 457 days and the IACA's validity. So credentials valid longer than 457 days cannot be signed
(a verifier would reject the expired signer certificate before the credential expired), and the longer credentials
are valid, the sooner a signer stops covering them and a new one is made. Two processes may both create one at
the same moment; that is harmless (the newest is used from then on).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from openissuer.crypto.certificate_info import read_certificate_info
from openissuer.crypto.signer import Signer
from openissuer.crypto.x509 import MAX_DOCUMENT_SIGNER_VALIDITY, build_document_signer_certificate
from openissuer.domain.ids import new_id
from openissuer.domain.pki import DocumentSigner, Iaca
from openissuer.errors import CredentialRequestDeniedError
from openissuer.ports.clock import Clock
from openissuer.ports.keys import KeyStore
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.services.iacas import iaca_key_aad

# Verifiers with a clock slightly behind ours must already accept a brand-new signer.
BACKDATE = timedelta(minutes=5)


def signer_key_aad(signer_id: str) -> bytes:
    """The associated data binding a sealed document-signer key to its row."""
    return f"openissuer/document-signer/{signer_id}".encode()


@dataclass(frozen=True)
class SignerCandidates:
    """The tenant's newest usable active IACA (None when it has none) and that IACA's signers, newest first."""

    tenant_id: str
    iaca: Iaca | None
    signers: tuple[DocumentSigner, ...]


@dataclass(frozen=True)
class SelectedSigner:
    """A document signer and the Signer that signs with its key (``x5c`` = its certificate)."""

    record: DocumentSigner
    signer: Signer


class DocumentSignerService:
    """Select the signer for a credential valid until a given time, creating one when needed."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        keys: KeyStore,
        *,
        validity: timedelta = MAX_DOCUMENT_SIGNER_VALIDITY,
        rotation_age: timedelta = timedelta(days=90),
    ) -> None:
        if validity > MAX_DOCUMENT_SIGNER_VALIDITY:
            raise ValueError(f"document signer validity is at most {MAX_DOCUMENT_SIGNER_VALIDITY.days} days")
        self._uow = uow_factory
        self._clock = clock
        self._keys = keys
        self._validity = validity
        self._rotation_age = rotation_age

    async def select(self, tenant_id: str, valid_until: datetime) -> SelectedSigner:
        """Return a signer under the newest active IACA whose certificate covers ``valid_until``.

        Raises CredentialRequestDeniedError when the tenant has no active IACA, or when no new certificate could
        cover ``valid_until`` (it would outlive the IACA).
        """
        async with self._uow() as uow:
            candidates = await self.load_candidates(uow, tenant_id)
        return await self.choose(candidates, valid_until)

    async def load_candidates(self, uow: UnitOfWork, tenant_id: str) -> SignerCandidates:
        """Read, in the caller's unit of work, the newest usable active IACA and its signers."""
        now = self._clock.now()
        active = await uow.iacas.list_active(tenant_id)
        iaca = next((i for i in active if i.data.not_before <= now < i.data.not_after), None)
        signers = () if iaca is None else tuple(await uow.document_signers.list_for_iaca(tenant_id, iaca.id))
        return SignerCandidates(tenant_id=tenant_id, iaca=iaca, signers=signers)

    async def choose(self, candidates: SignerCandidates, valid_until: datetime) -> SelectedSigner:
        """Pick a usable signer among ``candidates``, or create one (the only write, rare: on rotation)."""
        if candidates.iaca is None:
            raise CredentialRequestDeniedError(
                "The issuer cannot sign this credential now", detail=f"tenant {candidates.tenant_id} has no usable IACA"
            )
        now = self._clock.now()
        for record in candidates.signers:
            if self._usable(record, now, valid_until):
                return self._selected(record)
        return await self._create(candidates.iaca, now, valid_until)

    def _usable(self, record: DocumentSigner, now: datetime, valid_until: datetime) -> bool:
        return (
            record.revoked_at is None
            and record.not_before <= now
            and valid_until <= record.not_after
            and now - record.created_at < self._rotation_age
        )

    def _selected(self, record: DocumentSigner) -> SelectedSigner:
        signer = self._keys.load(record.sealed_private_key, aad=signer_key_aad(record.id), x5c=[record.certificate_der])
        return SelectedSigner(record=record, signer=signer)

    async def _create(self, iaca: Iaca, now: datetime, valid_until: datetime) -> SelectedSigner:
        not_before = max(now.replace(microsecond=0) - BACKDATE, iaca.data.not_before)
        # Long enough for the configured validity and for this credential, within the ISO limit and the IACA.
        wanted = max(not_before + self._validity, valid_until)
        not_after = min(wanted, not_before + MAX_DOCUMENT_SIGNER_VALIDITY, iaca.data.not_after)
        if valid_until > not_after:
            raise CredentialRequestDeniedError(
                "The credential would outlive the issuer's signing certificate",
                detail=f"validUntil {valid_until.isoformat()} is after {not_after.isoformat()} (IACA {iaca.id})",
            )
        id = new_id()
        signer, sealed = self._keys.generate(aad=signer_key_aad(id))
        iaca_signer = self._keys.load(iaca.sealed_private_key, aad=iaca_key_aad(iaca.id))
        certificate = build_document_signer_certificate(
            iaca.certificate_der,
            iaca_signer,
            signer.public_jwk,
            common_name=f"{iaca.data.common_name.removesuffix(' IACA')} Document Signer"[:64],
            not_before=not_before,
            not_after=not_after,
            random_bytes=secrets.token_bytes,
        )
        info = read_certificate_info(certificate)
        record = DocumentSigner(
            id=id,
            tenant_id=iaca.tenant_id,
            iaca_id=iaca.id,
            certificate_der=certificate,
            serial_number=info.serial_number,
            not_before=info.not_before,
            not_after=info.not_after,
            sealed_private_key=sealed,
            created_at=now,
        )
        async with self._uow() as uow:
            await uow.document_signers.add(record)
            await uow.commit()
        return self._selected(record)
