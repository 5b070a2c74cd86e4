"""Signer certificates under the tenant's IACAs, managed through the API (reference §8.3 document signers, §8.4
status list signers): one generic mechanism per ``SignerKind``.

- An **unmanaged** IACA (uploaded, its key kept by its holder) cannot certify signers itself, so a signer is made
  in two steps: ``create`` generates a P-256 key here (sealed with the master key) and returns a PKCS#10
  certificate request; the holder signs it offline with the IACA and uploads the certificate (``update`` with
  ``certificatePem``), which is checked (``crypto/certificate_checks.py``) and makes the signer usable while
  ``active``. Limits: reference §8.3 "max 5" document signers, §8.4 "max 3" status list signers per tenant.
- A **managed** IACA's signers are created and rotated by ``services/document_signers.py``; here they can be
  listed and **revoked**: a revoked signer never signs again and its serial number is in the IACA's CRL from the
  next CRL request on (``IacaService.crl``). An unmanaged IACA's CRL is its holder's: revoking one of its signers
  stops it signing here, and the holder adds it to the CRL it publishes.

What signs with a kind's certificates is the kind's business: document signers sign MSOs
(``DocumentSignerService``); status list signers will sign status list tokens (the status-list issue selects an
active, unrevoked, unexpired ``STATUS_LIST_SIGNER`` certificate under the list's IACA, as ``IacaSignerService``
does for document signers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from openissuer.crypto.certificate_checks import (
    CertificateCheckError,
    create_certificate_request,
    find_signer_certificate_problems,
    parse_pem_certificate,
)
from openissuer.crypto.certificate_info import read_certificate_info
from openissuer.crypto.x509 import MAX_DOCUMENT_SIGNER_VALIDITY, MDL_DOCUMENT_SIGNER_EKU
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.ids import new_id
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.pki import DocumentSigner, Iaca, SignerKind
from openissuer.domain.signer_requests import SignerEntry, SignerRequest
from openissuer.errors import ConflictError, ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.keys import KeyStore
from openissuer.ports.uow import UnitOfWork, UnitOfWorkFactory
from openissuer.services.access import ISSUERS, READERS_AND_ISSUERS, authorize
from openissuer.services.document_signers import sd_jwt_issuer_key_aad, signer_key_aad


def status_list_signer_key_aad(signer_id: str) -> bytes:
    """The associated data binding a sealed status list signer key to its row."""
    return f"openissuer/status-list-signer/{signer_id}".encode()


@dataclass(frozen=True)
class SignerKindProfile:
    """What the API knows about one kind: its limit, its name suffix, the certificate it needs, how keys are sealed.

    ``extended_key_usage``: required in uploaded certificates and asked for in requests (document signers:
    ISO/IEC 18013-5 ``1.0.18013.5.1.2``). ``max_validity``: of an uploaded certificate (Table B.3: 457 days).
    """

    kind: SignerKind
    max_requested: int
    name_suffix: str
    key_aad: Callable[[str], bytes]
    extended_key_usage: str | None
    max_validity: timedelta


DOCUMENT_SIGNERS = SignerKindProfile(
    kind=SignerKind.DOCUMENT_SIGNER,
    max_requested=5,
    name_suffix="Document Signer",
    key_aad=signer_key_aad,
    extended_key_usage=MDL_DOCUMENT_SIGNER_EKU.dotted_string,
    max_validity=MAX_DOCUMENT_SIGNER_VALIDITY,
)
STATUS_LIST_SIGNERS = SignerKindProfile(
    kind=SignerKind.STATUS_LIST_SIGNER,
    max_requested=3,
    name_suffix="Status List Signer",
    key_aad=status_list_signer_key_aad,
    extended_key_usage=None,
    max_validity=MAX_DOCUMENT_SIGNER_VALIDITY,
)
KEY_AAD = {
    SignerKind.DOCUMENT_SIGNER: signer_key_aad,
    SignerKind.SD_JWT_ISSUER: sd_jwt_issuer_key_aad,
    SignerKind.STATUS_LIST_SIGNER: status_list_signer_key_aad,
}


@dataclass(frozen=True)
class SignerUpdate:
    """A PUT: ``active`` and, for a request, the certificate its IACA's holder issued."""

    active: bool
    certificate_pem: str | None = None


@dataclass(frozen=True)
class Revocation:
    """The answer to a revocation (reference §8.4: ``{revoked: true, revocationDate}``)."""

    signer: DocumentSigner
    revoked_at: datetime


def is_managed(entry: SignerEntry) -> bool:
    """Tell whether a signer was made by openissuer under a managed IACA (not through a certificate request)."""
    return isinstance(entry, DocumentSigner) and entry.csr_der is None


class SignerCertificateService:
    """The management API of one signer kind (``profile.kind``)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, keys: KeyStore, profile: SignerKindProfile):
        self._uow = uow_factory
        self._clock = clock
        self._keys = keys
        self.profile = profile

    async def create_as(self, principal: ManagementPrincipal, iaca_id: str) -> SignerRequest:
        """Generate a key and its certificate request under an unmanaged IACA of the tenant."""
        authorize(principal, ISSUERS)
        async with self._uow(read_only=True) as uow:
            iaca = await uow.iacas.get(principal.tenant_id, iaca_id)
            count = await uow.signers.count_requested(principal.tenant_id, self.profile.kind)
        self._check_request(iaca, iaca_id, count)
        assert iaca is not None
        id = new_id()
        signer, sealed = self._keys.generate(aad=self.profile.key_aad(id))
        request = SignerRequest(
            id=id,
            tenant_id=principal.tenant_id,
            iaca_id=iaca.id,
            kind=self.profile.kind,
            active=True,
            csr_der=create_certificate_request(
                signer,
                country=iaca.data.country,
                state_or_province=iaca.data.state_or_province_name,
                common_name=f"{iaca.data.common_name.removesuffix(' IACA')} {self.profile.name_suffix}"[:64],
                extended_key_usage=self.profile.extended_key_usage,
            ),
            sealed_private_key=sealed,
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            # Counted again in the writing transaction: two creates at once cannot both take the last place.
            self._check_request(iaca, iaca_id, await uow.signers.count_requested(principal.tenant_id, request.kind))
            await uow.signers.add_request(request)
            await uow.commit()
        return request

    def _check_request(self, iaca: Iaca | None, iaca_id: str, count: int) -> None:
        if iaca is None:
            raise ValidationError(
                "Validation Error", details=[ErrorDetail("body", "iacaId", "no IACA with this id", iaca_id)]
            )
        if iaca.is_managed:
            raise ValidationError(
                "Validation Error",
                details=[
                    ErrorDetail("body", "iacaId", "is a managed IACA: its signers are created automatically", iaca_id)
                ],
            )
        if count >= self.profile.max_requested:
            raise ConflictError(
                f"Maximum number of {self.profile.name_suffix.lower()} certificates reached; delete one first",
                details=[ErrorDetail("body", "iacaId", f"a tenant may have at most {self.profile.max_requested}")],
            )

    async def list_as(self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None) -> Page[SignerEntry]:
        """List the tenant's requests and signers of this kind."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            return await uow.signers.list(principal.tenant_id, self.profile.kind, limit=limit, after=after)

    async def get_as(self, principal: ManagementPrincipal, id: str) -> SignerEntry:
        """Return one request or signer."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            return await self._find(uow, principal.tenant_id, id)

    async def _find(self, uow: UnitOfWork, tenant_id: str, id: str) -> SignerEntry:
        entry = await uow.signers.find(tenant_id, self.profile.kind, id)
        if entry is None:
            raise NotFoundError.for_id(id)
        return entry

    async def update_as(self, principal: ManagementPrincipal, id: str, data: SignerUpdate) -> SignerEntry:
        """Upload a request's certificate and/or set ``active``; a managed or revoked signer cannot be changed."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            entry = await self._find(uow, principal.tenant_id, id)
            if is_managed(entry):
                raise _refused(id, "is managed: it is rotated automatically; revoke it to stop it signing")
            if isinstance(entry, DocumentSigner):
                if entry.revoked_at is not None and data.active:
                    raise _refused(id, "is revoked and can never sign again")
                if data.certificate_pem is not None and _der(data.certificate_pem) != entry.certificate_der:
                    raise ValidationError(
                        "Validation Error",
                        details=[ErrorDetail("body", "certificatePem", "the signer is certified already")],
                    )
                await uow.signers.set_active(principal.tenant_id, id, data.active)
                await uow.commit()
                return replace(entry, active=data.active)
            if data.certificate_pem is None:
                await uow.signers.set_active(principal.tenant_id, id, data.active)
                await uow.commit()
                return replace(entry, active=data.active)
            iaca = await uow.iacas.get(principal.tenant_id, entry.iaca_id)
            assert iaca is not None  # deleting an IACA deletes its requests
            signer = self._certified(entry, iaca, data)
            if not await uow.signers.certify(entry, signer):
                raise NotFoundError.for_id(id)
            await uow.commit()
        return signer

    def _certified(self, request: SignerRequest, iaca: Iaca, data: SignerUpdate) -> DocumentSigner:
        assert data.certificate_pem is not None
        try:
            certificate = parse_pem_certificate(data.certificate_pem)
        except CertificateCheckError as exc:
            raise ValidationError(
                "Validation Error", details=[ErrorDetail("body", "certificatePem", str(exc))]
            ) from exc
        problems = find_signer_certificate_problems(
            certificate,
            iaca_der=iaca.certificate_der,
            request_der=request.csr_der,
            now=self._clock.now(),
            max_validity=self.profile.max_validity,
            extended_key_usage=self.profile.extended_key_usage,
        )
        if problems:
            raise ValidationError(
                "Validation Error", details=[ErrorDetail("body", "certificatePem", problem) for problem in problems]
            )
        info = read_certificate_info(certificate)
        return DocumentSigner(
            id=request.id,
            tenant_id=request.tenant_id,
            iaca_id=request.iaca_id,
            certificate_der=certificate,
            serial_number=info.serial_number,
            not_before=info.not_before,
            not_after=info.not_after,
            sealed_private_key=request.sealed_private_key,
            created_at=request.created_at,
            kind=request.kind,
            active=data.active,
            csr_der=request.csr_der,
        )

    async def revoke_as(self, principal: ManagementPrincipal, id: str) -> Revocation:
        """Revoke a certified signer (idempotent: a second revocation keeps the first date)."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            entry = await self._find(uow, principal.tenant_id, id)
            if isinstance(entry, SignerRequest):
                raise _refused(id, "has no certificate to revoke yet; delete the request instead")
            revoked = await uow.signers.revoke(principal.tenant_id, id, self._clock.now())
            await uow.commit()
        if revoked is None or revoked.revoked_at is None:
            raise NotFoundError.for_id(id)
        return Revocation(revoked, revoked.revoked_at)

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete a request or an unmanaged IACA's signer (a managed one stays, so the CRL keeps listing it)."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            entry = await self._find(uow, principal.tenant_id, id)
            if is_managed(entry):
                raise _refused(id, "is managed: it is rotated automatically; revoke it to stop it signing")
            await uow.signers.delete(principal.tenant_id, id)
            await uow.commit()


def _refused(id: str, reason: str) -> ValidationError:
    return ValidationError("Validation Error", details=[ErrorDetail("params", "id", reason, id)])


def _der(pem: str) -> bytes:
    try:
        return parse_pem_certificate(pem)
    except CertificateCheckError as exc:
        raise ValidationError("Validation Error", details=[ErrorDetail("body", "certificatePem", str(exc))]) from exc
