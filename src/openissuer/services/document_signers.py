"""Managed document signers (reference platform §8.1, §8.3): chosen, created and rotated under the active IACA.

A signer is used while it is younger than the rotation age and its certificate covers the credential's whole
validity; otherwise a new one is created, valid for the configured validity or as long as the credential needs,
within ISO 18013-5's 457 days and the IACA's validity. So credentials valid longer than 457 days cannot be signed
(a verifier would reject the expired signer certificate before the credential expired), and the longer credentials
are valid, the sooner a signer stops covering them and a new one is made. Two processes may both create one at
the same moment; that is harmless (the newest is used from then on). In one process, one creation at a time per
tenant.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from openissuer.crypto.certificate_info import read_certificate_info
from openissuer.crypto.x509 import MAX_DOCUMENT_SIGNER_VALIDITY, build_document_signer_certificate
from openissuer.domain.ids import new_id
from openissuer.domain.pki import DocumentSigner, Iaca
from openissuer.errors import CredentialRequestDeniedError
from openissuer.ports.clock import Clock
from openissuer.ports.keys import KeyStore
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.iacas import iaca_key_aad
from openissuer.services.signing import SelectedSigner
from openissuer.services.versioned_cache import Versioned, VersionedCache

# Verifiers with a clock slightly behind ours must already accept a brand-new signer.
BACKDATE = timedelta(minutes=5)


def signer_key_aad(signer_id: str) -> bytes:
    """The associated data binding a sealed document-signer key to its row."""
    return f"openissuer/document-signer/{signer_id}".encode()


@dataclass(frozen=True)
class SignerCandidates:
    """The tenant's active IACAs (newest first) and each one's signers (newest first)."""

    tenant_id: str
    iacas: tuple[Iaca, ...]
    signers: dict[str, tuple[DocumentSigner, ...]]

    def iaca_at(self, now: datetime) -> Iaca | None:
        """Return the newest active IACA valid at ``now``."""
        return next((i for i in self.iacas if i.data.not_before <= now < i.data.not_after), None)

    def with_signer(self, record: DocumentSigner) -> SignerCandidates:
        """Return these candidates with a new signer (first in its IACA's list)."""
        signers = dict(self.signers)
        signers[record.iaca_id] = (record, *signers.get(record.iaca_id, ()))
        return replace(self, signers=signers)


class DocumentSignerService:
    """Select the document signer for a credential valid until a given time, creating one when needed.

    Implements ``CredentialSigners`` for ``SignerKind.DOCUMENT_SIGNER``. The active IACA and its signers are cached
    per tenant configuration version (adding an IACA or a signer raises the version).
    """

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
        self._candidates: VersionedCache[SignerCandidates] = VersionedCache(self._load)
        self._creating: dict[str, asyncio.Lock] = {}

    async def signer_for(self, tenant_id: str, version: int, valid_until: datetime) -> SelectedSigner:
        """Return a signer under the newest active IACA whose certificate covers ``valid_until``.

        Raises CredentialRequestDeniedError when the tenant has no active IACA, or when no new certificate could
        cover ``valid_until`` (it would outlive the IACA).
        """
        candidates = await self._candidates.get(tenant_id, version)
        found = self._usable(candidates, valid_until)
        if found is not None:
            return found
        # One creation at a time per tenant in this process; the others then find the new signer.
        async with self._creating.setdefault(tenant_id, asyncio.Lock()):
            candidates = await self._candidates.get(tenant_id, version)
            found = self._usable(candidates, valid_until)
            if found is not None:
                return found
            record = await self._create(candidates, valid_until)
            self._candidates.put(tenant_id, Versioned(version, candidates.with_signer(record)))
            return self._selected(record)

    async def _load(self, tenant_id: str) -> Versioned[SignerCandidates]:
        async with self._uow(read_only=True) as uow:
            version = await uow.tenants.get_config_version(tenant_id)  # before the data: see VersionedCache
            iacas = tuple(await uow.iacas.list_active(tenant_id))
            signers = {i.id: tuple(await uow.document_signers.list_for_iaca(tenant_id, i.id)) for i in iacas}
        return Versioned(version or 0, SignerCandidates(tenant_id=tenant_id, iacas=iacas, signers=signers))

    def _usable(self, candidates: SignerCandidates, valid_until: datetime) -> SelectedSigner | None:
        now = self._clock.now()
        iaca = candidates.iaca_at(now)
        if iaca is None:
            raise CredentialRequestDeniedError(
                "The issuer cannot sign this credential now", detail=f"tenant {candidates.tenant_id} has no usable IACA"
            )
        for record in candidates.signers.get(iaca.id, ()):
            if (
                record.revoked_at is None
                and record.not_before <= now
                and valid_until <= record.not_after
                and now - record.created_at < self._rotation_age
            ):
                return self._selected(record)
        return None

    def _selected(self, record: DocumentSigner) -> SelectedSigner:
        signer = self._keys.load(record.sealed_private_key, aad=signer_key_aad(record.id), x5c=[record.certificate_der])
        return SelectedSigner(signer_id=record.id, signer=signer)

    async def _create(self, candidates: SignerCandidates, valid_until: datetime) -> DocumentSigner:
        now = self._clock.now()
        iaca = candidates.iaca_at(now)
        if iaca is None:
            raise CredentialRequestDeniedError(
                "The issuer cannot sign this credential now", detail=f"tenant {candidates.tenant_id} has no usable IACA"
            )
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
        return record
