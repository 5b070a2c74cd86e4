"""IACAs (reference platform §8.2): managed root certificates of a tenant's mDoc trust chain, and their CRLs."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from openissuer.crypto.certificate_checks import CertificateCheckError, find_iaca_problems, parse_pem_certificate
from openissuer.crypto.certificate_info import read_certificate_info
from openissuer.crypto.x509 import build_crl, build_iaca_certificate
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.countries import is_country_code, is_subdivision_of
from openissuer.domain.durations import Duration
from openissuer.domain.events import IACA_CREATED, IACA_DELETED, IACA_UPDATED
from openissuer.domain.ids import new_id
from openissuer.domain.pages import Page, PageKey
from openissuer.domain.pki import CertificateData, Iaca
from openissuer.errors import ConflictError, ErrorDetail, NotFoundError, ValidationError
from openissuer.ports.clock import Clock
from openissuer.ports.keys import KeyStore
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.access import ISSUERS, READERS_AND_ISSUERS, authorize
from openissuer.services.audit import iaca_event as _iaca_event
from openissuer.services.tenancy import TenantDirectory

MAX_IACAS_PER_TENANT = 3
DEFAULT_VALIDITY = Duration(years=10)
MAX_VALIDITY = Duration(years=20)
CRL_VALIDITY = timedelta(days=7)
# "notBefore: not in the past" — with a little room for the caller's clock being behind ours.
CLOCK_SKEW = timedelta(minutes=5)
_PRINTABLE_STRING = re.compile(r"^[A-Za-z0-9 '()+,\-./:=?]+$")


def iaca_key_aad(iaca_id: str) -> bytes:
    """The associated data binding a sealed IACA key to its IACA (a key cannot be swapped between rows)."""
    return f"openissuer/iaca/{iaca_id}".encode()


def crl_url(issuer_url: str, iaca_id: str) -> str:
    """Return the public URL of an IACA's CRL."""
    return f"{issuer_url}/v2/credentials/mobile/iacas/{iaca_id}/crl"


@dataclass(frozen=True)
class IacaInput:
    """A create request; every field optional. ``country`` defaults to the tenant's ``defaultCountry`` (the
    reference derives it from the tenant's region). ``certificate_pem`` uploads an unmanaged IACA (reference §8.1:
    its key stays with its holder) and excludes the other fields, which come from the certificate."""

    country: str | None = None
    common_name: str | None = None
    state_or_province_name: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    certificate_pem: str | None = None


def _check_room(count: int) -> None:
    """Reference §8.2: "max 3 IACAs per tenant"; PM12 answers 409 ("Maximum number of IACA certificates")."""
    if count >= MAX_IACAS_PER_TENANT:
        raise ConflictError(
            "Maximum number of IACA certificates reached; delete one before creating another",
            details=[ErrorDetail("body", "", f"a tenant may have at most {MAX_IACAS_PER_TENANT} IACAs")],
        )


def _certificate_fields(data: IacaInput) -> list[tuple[str, object]]:
    return [
        ("country", data.country),
        ("commonName", data.common_name),
        ("stateOrProvinceName", data.state_or_province_name),
        ("notBefore", data.not_before),
        ("notAfter", data.not_after),
    ]


def _pem_problem(problem: str) -> ErrorDetail:
    return ErrorDetail("body", "certificatePem", problem)


class IacaService:
    """Create, activate, list and delete a tenant's IACAs; sign their CRLs."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, keys: KeyStore, tenants: TenantDirectory) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._keys = keys
        self._tenants = tenants

    def _check(self, data: IacaInput, now: datetime, issuer_url: str) -> tuple[str, str, datetime, datetime]:
        details: list[ErrorDetail] = []
        country = data.country or ""
        if data.country is None:
            details.append(
                ErrorDetail("body", "country", "is required: the tenant has no defaultCountry (PUT /v1/config/tenant)")
            )
        elif not is_country_code(country):
            details.append(ErrorDetail("body", "country", "must be an ISO 3166-1 alpha-2 code, e.g. NZ", data.country))
        common_name = data.common_name if data.common_name is not None else f"{urlsplit(issuer_url).hostname} IACA"
        if not common_name.strip() or not _PRINTABLE_STRING.match(common_name) or len(common_name) > 64:
            details.append(ErrorDetail("body", "commonName", "must be 1-64 PrintableString characters", common_name))
        state = data.state_or_province_name
        if state is not None and not is_subdivision_of(state, country):
            details.append(
                ErrorDetail(
                    "body", "stateOrProvinceName", "must be an ISO 3166-2 code of the country, e.g. US-AL", state
                )
            )
        not_before = data.not_before or now
        not_after = data.not_after or DEFAULT_VALIDITY.add_to(not_before)
        if not_before < now - CLOCK_SKEW:
            details.append(ErrorDetail("body", "notBefore", "must not be in the past", not_before.isoformat()))
        if not_after <= not_before:
            details.append(ErrorDetail("body", "notAfter", "must be after notBefore", not_after.isoformat()))
        elif not_after > MAX_VALIDITY.add_to(now):
            details.append(ErrorDetail("body", "notAfter", "must be at most 20 years from now", not_after.isoformat()))
        if details:
            raise ValidationError("Validation Error", details=details)
        return country, common_name, not_before, not_after

    async def create_as(self, principal: ManagementPrincipal, data: IacaInput) -> Iaca:
        """Create an inactive managed IACA with a new P-256 key (ISO 18013-5 Annex B profile), or register an
        uploaded unmanaged one (``certificate_pem``)."""
        authorize(principal, ISSUERS)
        now = self._clock.now().replace(microsecond=0)
        async with self._uow(read_only=True) as uow:
            _check_room(await uow.iacas.count(principal.tenant_id))
            settings = await uow.tenant_settings.get(principal.tenant_id)
        if data.certificate_pem is not None:
            return await self._add_unmanaged(principal, data, now)
        if data.country is None:
            data = replace(data, country=settings.default_country)
        issuer_url = (await self._tenants.by_id(principal.tenant_id)).issuer
        country, common_name, not_before, not_after = self._check(data, now, issuer_url)
        id = new_id()
        signer, sealed = self._keys.generate(aad=iaca_key_aad(id))
        certificate = build_iaca_certificate(
            signer,
            country=country,
            common_name=common_name,
            state_or_province=data.state_or_province_name,
            issuer_alternative_name_uri=issuer_url,
            crl_distribution_point_uri=crl_url(issuer_url, id),
            not_before=not_before,
            not_after=not_after,
            random_bytes=secrets.token_bytes,
        )
        info = read_certificate_info(certificate)
        iaca = Iaca(
            id=id,
            tenant_id=principal.tenant_id,
            active=False,
            certificate_der=certificate,
            fingerprint=info.sha256_fingerprint,
            data=CertificateData(
                common_name=common_name,
                country=country,
                state_or_province_name=data.state_or_province_name,
                not_before=info.not_before,
                not_after=info.not_after,
            ),
            sealed_private_key=sealed,
            created_at=now,
        )
        async with self._uow() as uow:
            _check_room(await uow.iacas.count(principal.tenant_id))
            await uow.iacas.add(iaca)
            await uow.events.add(_iaca_event(IACA_CREATED, principal, iaca, now))
            await uow.commit()
        return iaca

    async def _add_unmanaged(self, principal: ManagementPrincipal, data: IacaInput, now: datetime) -> Iaca:
        """Reference §8.2 ``certificatePem``: "upload an existing IACA cert (must be valid, unexpired)"; checked
        against ISO/IEC 18013-5 B.1.2 (``crypto/certificate_checks.py``). Inactive until activated."""
        given = [name for name, value in _certificate_fields(data) if value is not None]
        details = [
            ErrorDetail("body", name, "comes from the certificate; omit it with certificatePem") for name in given
        ]
        assert data.certificate_pem is not None
        try:
            certificate = parse_pem_certificate(data.certificate_pem)
        except CertificateCheckError as exc:
            raise ValidationError("Validation Error", details=[*details, _pem_problem(str(exc))]) from exc
        details += [_pem_problem(problem) for problem in find_iaca_problems(certificate, now)]
        if details:
            raise ValidationError("Validation Error", details=details)
        tenant_id = principal.tenant_id
        info = read_certificate_info(certificate)
        iaca = Iaca(
            id=new_id(),
            tenant_id=tenant_id,
            active=False,
            certificate_der=certificate,
            fingerprint=info.sha256_fingerprint,
            data=CertificateData(
                common_name=info.common_name or "",
                country=info.country or "",
                state_or_province_name=info.state_or_province,
                not_before=info.not_before,
                not_after=info.not_after,
            ),
            sealed_private_key=None,
            created_at=now,
            is_managed=False,
        )
        async with self._uow() as uow:
            _check_room(await uow.iacas.count(tenant_id))
            page = await uow.iacas.list(tenant_id, limit=MAX_IACAS_PER_TENANT + 1, after=None)
            if any(existing.fingerprint == iaca.fingerprint for existing in page.items):
                raise ConflictError(
                    "The tenant already has this IACA",
                    details=[ErrorDetail("body", "certificatePem", "is already one of the tenant's IACAs")],
                )
            await uow.iacas.add(iaca)
            await uow.events.add(_iaca_event(IACA_CREATED, principal, iaca, now))
            await uow.commit()
        return iaca

    async def set_active_as(self, principal: ManagementPrincipal, id: str, active: bool) -> Iaca:
        """Activate (so it signs) or deactivate an IACA."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            iaca = await uow.iacas.set_active(principal.tenant_id, id, active)
            if iaca is not None:
                await uow.events.add(_iaca_event(IACA_UPDATED, principal, iaca, self._clock.now()))
            await uow.commit()
        if iaca is None:
            raise NotFoundError.for_id(id)
        return iaca

    async def get_as(self, principal: ManagementPrincipal, id: str) -> Iaca:
        """Return one of the caller's tenant's IACAs."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            iaca = await uow.iacas.get(principal.tenant_id, id)
        if iaca is None:
            raise NotFoundError.for_id(id)
        return iaca

    async def list_as(self, principal: ManagementPrincipal, *, limit: int, after: PageKey | None) -> Page[Iaca]:
        """List the caller's tenant's IACAs."""
        authorize(principal, READERS_AND_ISSUERS)
        async with self._uow(read_only=True) as uow:
            return await uow.iacas.list(principal.tenant_id, limit=limit, after=after)

    async def delete_as(self, principal: ManagementPrincipal, id: str) -> None:
        """Delete an inactive IACA and its document signers (an active one must be deactivated first)."""
        authorize(principal, ISSUERS)
        async with self._uow() as uow:
            iaca = await uow.iacas.get(principal.tenant_id, id)
            if iaca is None:
                raise NotFoundError.for_id(id)
            if iaca.active:
                raise ConflictError(
                    "Deactivate the IACA before deleting it",
                    details=[ErrorDetail("params", "id", "the IACA is active", id)],
                )
            await uow.iacas.delete(principal.tenant_id, id)
            await uow.events.add(_iaca_event(IACA_DELETED, principal, iaca, self._clock.now()))
            await uow.commit()

    async def list_active(self, tenant_id: str) -> list[Iaca]:
        """Return the tenant's active IACAs (the public ``mdoc_iacas_uri`` list)."""
        async with self._uow(read_only=True) as uow:
            return list(await uow.iacas.list_active(tenant_id))

    async def crl(self, tenant_id: str, id: str) -> bytes:
        """Return the IACA's CRL (DER), signed now, listing its revoked document signers."""
        async with self._uow(read_only=True) as uow:
            iaca = await uow.iacas.get(tenant_id, id)
            signers = await uow.document_signers.list_for_iaca(tenant_id, id) if iaca else []
        if iaca is None:
            raise NotFoundError.for_id(id)
        if iaca.sealed_private_key is None:
            raise NotFoundError(
                "Resource Not Found",
                details=[ErrorDetail("params", "id", "an unmanaged IACA's CRL is published by its holder", id)],
            )
        now = self._clock.now().replace(microsecond=0)
        revoked = {s.serial_number: s.revoked_at for s in signers if s.revoked_at is not None}
        signer = self._keys.load(iaca.sealed_private_key, aad=iaca_key_aad(iaca.id))
        return build_crl(
            iaca.certificate_der, signer, revoked, now, now + CRL_VALIDITY, crl_number=int(now.timestamp())
        )
