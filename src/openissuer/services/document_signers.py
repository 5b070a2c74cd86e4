"""Managed signing certificates under the tenant's active IACA (reference platform §8.1, §8.3, §8.4): chosen,
created and rotated on demand. Three kinds share the machinery and the table: mDoc document signers, SD-JWT VC
issuer certificates and status list signers (``SignerKind``); what differs is the certificate profile
(``SignerProfile``). A status list is signed under the IACA that certified its credentials' signers
(``signer_under``), the others under the newest active IACA (``signer_for``).

A signer is used while it is younger than the rotation age and its certificate covers the credential's whole
validity; otherwise a new one is created, valid for the configured validity or as long as the credential needs,
within 457 days (ISO 18013-5's limit for document signers, kept for both kinds) and the IACA's validity. So
credentials valid longer than 457 days cannot be signed (a verifier would reject the expired signer certificate
before the credential expired), and the longer credentials are valid, the sooner a signer stops covering them and a
new one is made. Two processes may both create one at the same moment; that is harmless (the newest is used from
then on). In one process, one creation at a time per tenant and kind.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from openissuer.crypto.certificate_info import read_certificate_info, read_subject_alternative_uris
from openissuer.crypto.signer import Signer
from openissuer.crypto.x509 import (
    MAX_DOCUMENT_SIGNER_VALIDITY,
    build_document_signer_certificate,
    build_sd_jwt_issuer_certificate,
    build_status_list_signer_certificate,
)
from openissuer.domain.ids import new_id
from openissuer.domain.pki import DocumentSigner, Iaca, SignerKind
from openissuer.errors import CredentialRequestDeniedError
from openissuer.ports.clock import Clock
from openissuer.ports.keys import KeyStore
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.iacas import iaca_key_aad
from openissuer.services.signing import SelectedSigner
from openissuer.services.versioned_cache import Versioned, VersionedCache

# Verifiers with a clock slightly behind ours must already accept a brand-new signer.
BACKDATE = timedelta(minutes=5)
# SD-JWT VC issuer certificates start a day earlier still: credentials carry an ``iat`` up to a day before their
# issuance (formats/sd_jwt_vc/validity.py), which should not predate the certificate (unless the IACA is younger).
SD_JWT_ISSUER_BACKDATE = timedelta(days=1, minutes=5)

IssuerOf = Callable[[str], Awaitable[str]]
"""Return a tenant's credential issuer identifier (its public URL)."""


def signer_key_aad(signer_id: str) -> bytes:
    """The associated data binding a sealed document-signer key to its row."""
    return f"openissuer/document-signer/{signer_id}".encode()


def sd_jwt_issuer_key_aad(signer_id: str) -> bytes:
    """The associated data binding a sealed SD-JWT VC issuer key to its row."""
    return f"openissuer/sd-jwt-issuer/{signer_id}".encode()


def status_list_signer_key_aad(signer_id: str) -> bytes:
    """The associated data binding a sealed status list signer key to its row."""
    return f"openissuer/status-list-signer/{signer_id}".encode()


@dataclass(frozen=True)
class SignerProfile:
    """What one kind of signer under the IACA looks like: its certificate, its name, how its key is sealed.

    ``build`` receives the IACA, the IACA's Signer, the new key's public JWK, the tenant's issuer identifier and
    the validity, and returns the DER certificate; ``fits`` tells whether a stored signer may still sign for the
    tenant's current issuer identifier (an SD-JWT VC issuer certificate names it).
    """

    kind: SignerKind
    backdate: timedelta
    key_aad: Callable[[str], bytes]
    build: Callable[[Iaca, Signer, dict[str, str], str, datetime, datetime], bytes]
    fits: Callable[[DocumentSigner, str], bool]


def _build_document_signer(
    iaca: Iaca, iaca_signer: Signer, public_jwk: dict[str, str], issuer: str, not_before: datetime, not_after: datetime
) -> bytes:
    return build_document_signer_certificate(
        iaca.certificate_der,
        iaca_signer,
        public_jwk,
        common_name=_common_name(iaca, "Document Signer"),
        not_before=not_before,
        not_after=not_after,
        random_bytes=secrets.token_bytes,
    )


def _build_sd_jwt_issuer(
    iaca: Iaca, iaca_signer: Signer, public_jwk: dict[str, str], issuer: str, not_before: datetime, not_after: datetime
) -> bytes:
    return build_sd_jwt_issuer_certificate(
        iaca.certificate_der,
        iaca_signer,
        public_jwk,
        common_name=_common_name(iaca, "SD-JWT VC Issuer"),
        issuer_uri=issuer,
        not_before=not_before,
        not_after=not_after,
        random_bytes=secrets.token_bytes,
    )


def _build_status_list_signer(
    iaca: Iaca, iaca_signer: Signer, public_jwk: dict[str, str], issuer: str, not_before: datetime, not_after: datetime
) -> bytes:
    return build_status_list_signer_certificate(
        iaca.certificate_der,
        iaca_signer,
        public_jwk,
        common_name=_common_name(iaca, "Status List Signer"),
        not_before=not_before,
        not_after=not_after,
        random_bytes=secrets.token_bytes,
    )


def _common_name(iaca: Iaca, suffix: str) -> str:
    return f"{iaca.data.common_name.removesuffix(' IACA')} {suffix}"[:64]


DOCUMENT_SIGNER_PROFILE = SignerProfile(
    kind=SignerKind.DOCUMENT_SIGNER,
    backdate=BACKDATE,
    key_aad=signer_key_aad,
    build=_build_document_signer,
    fits=lambda record, issuer: True,
)
SD_JWT_ISSUER_PROFILE = SignerProfile(
    kind=SignerKind.SD_JWT_ISSUER,
    backdate=SD_JWT_ISSUER_BACKDATE,
    key_aad=sd_jwt_issuer_key_aad,
    build=_build_sd_jwt_issuer,
    fits=lambda record, issuer: issuer in read_subject_alternative_uris(record.certificate_der),
)


STATUS_LIST_SIGNER_PROFILE = SignerProfile(
    kind=SignerKind.STATUS_LIST_SIGNER,
    backdate=BACKDATE,
    key_aad=status_list_signer_key_aad,
    build=_build_status_list_signer,
    fits=lambda record, issuer: True,
)


@dataclass(frozen=True)
class SignerCandidates:
    """The tenant's active IACAs (newest first) and each one's signers of one kind (newest first)."""

    tenant_id: str
    iacas: tuple[Iaca, ...]
    signers: dict[str, tuple[DocumentSigner, ...]]

    def iaca_at(self, now: datetime) -> Iaca | None:
        """Return the newest active IACA valid at ``now``."""
        return next((i for i in self.iacas if i.data.not_before <= now < i.data.not_after), None)

    def active_iaca(self, iaca_id: str, now: datetime) -> Iaca | None:
        """Return the IACA ``iaca_id`` when it is active and valid at ``now``."""
        return next((i for i in self.iacas if i.id == iaca_id and i.data.not_before <= now < i.data.not_after), None)

    def with_signer(self, record: DocumentSigner) -> SignerCandidates:
        """Return these candidates with a new signer (first in its IACA's list)."""
        signers = dict(self.signers)
        signers[record.iaca_id] = (record, *signers.get(record.iaca_id, ()))
        return replace(self, signers=signers)


async def _same_issuer(tenant_id: str) -> str:
    return ""


class IacaSignerService:
    """Select the signer of one kind for a credential valid until a given time, creating one when needed.

    Implements ``CredentialSigners`` for ``profile.kind``. The active IACAs and their signers are cached per
    tenant configuration version (adding an IACA or a signer raises the version).
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        keys: KeyStore,
        profile: SignerProfile,
        *,
        issuer_of: IssuerOf = _same_issuer,
        validity: timedelta = MAX_DOCUMENT_SIGNER_VALIDITY,
        rotation_age: timedelta = timedelta(days=90),
    ) -> None:
        if validity > MAX_DOCUMENT_SIGNER_VALIDITY:
            raise ValueError(f"signer certificate validity is at most {MAX_DOCUMENT_SIGNER_VALIDITY.days} days")
        self._uow = uow_factory
        self._clock = clock
        self._keys = keys
        self._profile = profile
        self._issuer_of = issuer_of
        self._validity = validity
        self._rotation_age = rotation_age
        self._candidates: VersionedCache[SignerCandidates] = VersionedCache(self._load)
        self._creating: dict[str, asyncio.Lock] = {}

    async def signer_for(self, tenant_id: str, version: int, valid_until: datetime) -> SelectedSigner:
        """Return a signer under the newest active IACA whose certificate covers ``valid_until``.

        Raises CredentialRequestDeniedError when the tenant has no active IACA, or when no new certificate could
        cover ``valid_until`` (it would outlive the IACA).
        """
        issuer = await self._issuer_of(tenant_id)
        candidates = await self._candidates.get(tenant_id, version)
        found = self._usable(candidates, valid_until, issuer)
        if found is not None:
            return found
        # One creation at a time per tenant in this process; the others then find the new signer.
        async with self._creating.setdefault(tenant_id, asyncio.Lock()):
            candidates = await self._candidates.get(tenant_id, version)
            found = self._usable(candidates, valid_until, issuer)
            if found is not None:
                return found
            record = await self._create(candidates, valid_until, issuer)
            self._candidates.put(tenant_id, Versioned(version, candidates.with_signer(record)))
            return self._selected(record)

    async def signer_under(self, tenant_id: str, version: int, iaca_id: str, valid_until: datetime) -> SelectedSigner:
        """Return a signer certified by the tenant's IACA ``iaca_id`` whose certificate covers ``valid_until``,
        creating one when needed; CredentialRequestDeniedError when that IACA is not active and valid now."""
        candidates = await self._candidates.get(tenant_id, version)
        iaca = candidates.active_iaca(iaca_id, self._clock.now())
        if iaca is None:
            raise CredentialRequestDeniedError(
                "The issuer cannot sign under this IACA now", detail=f"IACA {iaca_id} is not active and valid"
            )
        found = self._usable(candidates, valid_until, "", iaca)
        if found is not None:
            return found
        async with self._creating.setdefault(tenant_id, asyncio.Lock()):
            candidates = await self._candidates.get(tenant_id, version)
            found = self._usable(candidates, valid_until, "", iaca)
            if found is not None:
                return found
            record = await self._create(candidates, valid_until, "", iaca)
            self._candidates.put(tenant_id, Versioned(version, candidates.with_signer(record)))
            return self._selected(record)

    async def certificates(self, tenant_id: str, version: int) -> list[DocumentSigner]:
        """Return the unrevoked, unexpired signers of this kind under the tenant's active IACAs, newest first."""
        candidates = await self._candidates.get(tenant_id, version)
        now = self._clock.now()
        return [
            record
            for iaca in candidates.iacas
            for record in candidates.signers.get(iaca.id, ())
            if record.revoked_at is None and record.active and now < record.not_after
        ]

    async def _load(self, tenant_id: str) -> Versioned[SignerCandidates]:
        async with self._uow(read_only=True) as uow:
            version = await uow.tenants.get_config_version(tenant_id)  # before the data: see VersionedCache
            iacas = tuple(await uow.iacas.list_active(tenant_id))
            signers = {i.id: tuple(await uow.document_signers.list_for_iaca(tenant_id, i.id)) for i in iacas}
        kind = self._profile.kind
        mine = {iaca_id: tuple(s for s in found if s.kind is kind) for iaca_id, found in signers.items()}
        return Versioned(version or 0, SignerCandidates(tenant_id=tenant_id, iacas=iacas, signers=mine))

    def _usable(
        self, candidates: SignerCandidates, valid_until: datetime, issuer: str, under: Iaca | None = None
    ) -> SelectedSigner | None:
        now = self._clock.now()
        iaca = under or candidates.iaca_at(now)
        if iaca is None:
            raise CredentialRequestDeniedError(
                "The issuer cannot sign this credential now", detail=f"tenant {candidates.tenant_id} has no usable IACA"
            )
        for record in candidates.signers.get(iaca.id, ()):
            if (
                record.revoked_at is None
                and record.active
                and record.not_before <= now
                and valid_until <= record.not_after
                # An unmanaged IACA's signers are its holder's to rotate (reference §8.1).
                and (not iaca.is_managed or now - record.created_at < self._rotation_age)
                and self._profile.fits(record, issuer)
            ):
                return self._selected(record)
        return None

    def _selected(self, record: DocumentSigner) -> SelectedSigner:
        aad = self._profile.key_aad(record.id)
        signer = self._keys.load(record.sealed_private_key, aad=aad, x5c=[record.certificate_der])
        return SelectedSigner(signer_id=record.id, signer=signer, authority_id=record.iaca_id)

    async def _create(
        self, candidates: SignerCandidates, valid_until: datetime, issuer: str, under: Iaca | None = None
    ) -> DocumentSigner:
        now = self._clock.now()
        iaca = under or candidates.iaca_at(now)
        if iaca is None:
            raise CredentialRequestDeniedError(
                "The issuer cannot sign this credential now", detail=f"tenant {candidates.tenant_id} has no usable IACA"
            )
        if iaca.sealed_private_key is None:
            raise CredentialRequestDeniedError(
                "The issuer cannot sign this credential now",
                detail=f"unmanaged IACA {iaca.id} has no active {self._profile.kind.value} certificate covering "
                f"{valid_until.isoformat()}; upload one (docs/compatibility.md)",
            )
        not_before = max(now.replace(microsecond=0) - self._profile.backdate, iaca.data.not_before)
        # Long enough for the configured validity and for this credential, within the ISO limit and the IACA.
        wanted = max(not_before + self._validity, valid_until)
        not_after = min(wanted, not_before + MAX_DOCUMENT_SIGNER_VALIDITY, iaca.data.not_after)
        if valid_until > not_after:
            raise CredentialRequestDeniedError(
                "The credential would outlive the issuer's signing certificate",
                detail=f"validUntil {valid_until.isoformat()} is after {not_after.isoformat()} (IACA {iaca.id})",
            )
        id = new_id()
        signer, sealed = self._keys.generate(aad=self._profile.key_aad(id))
        iaca_signer = self._keys.load(iaca.sealed_private_key, aad=iaca_key_aad(iaca.id))
        certificate = self._profile.build(iaca, iaca_signer, signer.public_jwk, issuer, not_before, not_after)
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
            kind=self._profile.kind,
        )
        async with self._uow() as uow:
            await uow.document_signers.add(record)
            await uow.commit()
        return record


class DocumentSignerService(IacaSignerService):
    """mDoc document signers (ISO/IEC 18013-5 Table B.3) under the active IACA: ``SignerKind.DOCUMENT_SIGNER``."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        keys: KeyStore,
        *,
        validity: timedelta = MAX_DOCUMENT_SIGNER_VALIDITY,
        rotation_age: timedelta = timedelta(days=90),
    ) -> None:
        super().__init__(
            uow_factory, clock, keys, DOCUMENT_SIGNER_PROFILE, validity=validity, rotation_age=rotation_age
        )


class SdJwtIssuerService(IacaSignerService):
    """SD-JWT VC issuer certificates under the active IACA, naming the tenant's issuer identifier:
    ``SignerKind.SD_JWT_ISSUER``. A certificate naming another identifier (the public URL changed) is not used."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        keys: KeyStore,
        issuer_of: IssuerOf,
        *,
        validity: timedelta = MAX_DOCUMENT_SIGNER_VALIDITY,
        rotation_age: timedelta = timedelta(days=90),
    ) -> None:
        super().__init__(
            uow_factory,
            clock,
            keys,
            SD_JWT_ISSUER_PROFILE,
            issuer_of=issuer_of,
            validity=validity,
            rotation_age=rotation_age,
        )


class StatusListSignerService(IacaSignerService):
    """Status list signers (reference §8.4) under the IACA of a list's credentials: ``SignerKind.STATUS_LIST_SIGNER``,
    selected with ``signer_under``."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        keys: KeyStore,
        *,
        validity: timedelta = MAX_DOCUMENT_SIGNER_VALIDITY,
        rotation_age: timedelta = timedelta(days=90),
    ) -> None:
        super().__init__(
            uow_factory, clock, keys, STATUS_LIST_SIGNER_PROFILE, validity=validity, rotation_age=rotation_age
        )
