"""The storage contract for the signer management API (certificate requests and certified signers, one page over
both), unmanaged IACAs without a key, and tenant settings; on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from openissuer.domain.ids import new_id
from openissuer.domain.pages import PageKey
from openissuer.domain.pki import CertificateData, DocumentSigner, Iaca, SignerKind
from openissuer.domain.signer_requests import SignerRequest
from openissuer.domain.tenant_settings import TenantSettings
from openissuer.domain.tenants import Tenant
from openissuer.ports.uow import UnitOfWork

T0 = datetime(2026, 11, 1, 12, 0, 0, 250000, tzinfo=UTC)
Factory = Callable[[], UnitOfWork]


async def _tenant_and_iaca(uow_factory: Factory) -> tuple[str, Iaca]:
    tenant = Tenant(id=new_id(), name="t", created_at=T0)
    iaca = Iaca(
        id=new_id(),
        tenant_id=tenant.id,
        active=True,
        certificate_der=b"\x30iaca",
        fingerprint="cd" * 32,
        data=CertificateData("Holder IACA", "NZ", T0, T0 + timedelta(days=3650)),
        sealed_private_key=None,
        created_at=T0,
        is_managed=False,
    )
    async with uow_factory() as uow:
        await uow.tenants.add(tenant)
        await uow.iacas.add(iaca)
        await uow.commit()
    return tenant.id, iaca


def _request(
    tenant_id: str, iaca_id: str, minutes: int, kind: SignerKind = SignerKind.DOCUMENT_SIGNER
) -> SignerRequest:
    return SignerRequest(
        id=new_id(),
        tenant_id=tenant_id,
        iaca_id=iaca_id,
        kind=kind,
        active=True,
        csr_der=b"\x30csr",
        sealed_private_key=b"\x01key",
        created_at=T0 + timedelta(minutes=minutes),
    )


def _certified(request: SignerRequest) -> DocumentSigner:
    return DocumentSigner(
        id=request.id,
        tenant_id=request.tenant_id,
        iaca_id=request.iaca_id,
        certificate_der=b"\x30cert",
        serial_number=2**125 + 7,
        not_before=T0,
        not_after=T0 + timedelta(days=365),
        sealed_private_key=request.sealed_private_key,
        created_at=request.created_at,
        kind=request.kind,
        active=request.active,
        csr_der=request.csr_der,
    )


async def _version(uow_factory: Factory, tenant_id: str) -> int:
    async with uow_factory() as uow:
        return await uow.tenants.get_config_version(tenant_id) or 0


async def test_requests_and_signers_of_a_kind_page_together(uow_factory: Factory) -> None:
    tenant_id, iaca = await _tenant_and_iaca(uow_factory)
    requests = [_request(tenant_id, iaca.id, minute) for minute in range(4)]
    other_kind = _request(tenant_id, iaca.id, 9, SignerKind.STATUS_LIST_SIGNER)
    async with uow_factory() as uow:
        assert await uow.iacas.get(tenant_id, iaca.id) == iaca  # no key for an unmanaged IACA
        for request in [*requests, other_kind]:
            await uow.signers.add_request(request)
        await uow.commit()
    before = await _version(uow_factory, tenant_id)
    async with uow_factory() as uow:  # two of them certified: they move to the signers, same ids
        for request in requests[1::2]:
            assert await uow.signers.certify(request, _certified(request))
        await uow.commit()
    assert await _version(uow_factory, tenant_id) > before
    kind = SignerKind.DOCUMENT_SIGNER
    async with uow_factory() as uow:
        first = await uow.signers.list(tenant_id, kind, limit=3, after=None)
        assert first.next_key is not None
        rest = await uow.signers.list(tenant_id, kind, limit=3, after=first.next_key)
        assert await uow.signers.count_requested(tenant_id, kind) == 4
        assert await uow.signers.count_requested(tenant_id, SignerKind.STATUS_LIST_SIGNER) == 1
        assert await uow.signers.find(tenant_id, kind, requests[0].id) == requests[0]
        assert await uow.signers.find(tenant_id, kind, requests[1].id) == _certified(requests[1])
        assert await uow.signers.find(tenant_id, kind, other_kind.id) is None  # another kind
        assert await uow.signers.find(new_id(), kind, requests[0].id) is None  # another tenant
        assert [s.id for s in await uow.document_signers.list_for_iaca(tenant_id, iaca.id)] == [
            requests[3].id,
            requests[1].id,
        ]
    assert [e.id for e in first.items + rest.items] == [r.id for r in requests]
    assert rest.next_key is None
    assert [type(e).__name__ for e in first.items] == ["SignerRequest", "DocumentSigner", "SignerRequest"]
    late = PageKey(created_at=T0 + timedelta(days=1), id=new_id())
    async with uow_factory() as uow:
        assert (await uow.signers.list(tenant_id, kind, limit=3, after=late)).items == []
        assert not await uow.signers.certify(requests[1], _certified(requests[1]))  # already certified


async def test_activation_revocation_and_deletion(uow_factory: Factory) -> None:
    tenant_id, iaca = await _tenant_and_iaca(uow_factory)
    pending, certified = _request(tenant_id, iaca.id, 0), _request(tenant_id, iaca.id, 1)
    async with uow_factory() as uow:
        await uow.signers.add_request(pending)
        await uow.signers.add_request(certified)
        await uow.signers.certify(certified, _certified(certified))
        await uow.commit()
    kind = SignerKind.DOCUMENT_SIGNER
    async with uow_factory() as uow:
        assert await uow.signers.set_active(tenant_id, pending.id, False)
        assert await uow.signers.set_active(tenant_id, certified.id, False)
        assert not await uow.signers.set_active(tenant_id, new_id(), False)
        assert not await uow.signers.set_active(new_id(), pending.id, False)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.signers.find(tenant_id, kind, pending.id) == replace(pending, active=False)
        found = await uow.signers.find(tenant_id, kind, certified.id)
        assert isinstance(found, DocumentSigner) and not found.active
        assert await uow.signers.revoke(tenant_id, pending.id, T0) is None  # a request has nothing to revoke
        revoked = await uow.signers.revoke(tenant_id, certified.id, T0 + timedelta(hours=1))
        again = await uow.signers.revoke(tenant_id, certified.id, T0 + timedelta(hours=2))
        await uow.commit()
    assert revoked is not None and revoked.revoked_at == T0 + timedelta(hours=1)
    assert again is not None and again.revoked_at == T0 + timedelta(hours=1)  # the first date stays
    async with uow_factory() as uow:
        assert await uow.signers.count_requested(tenant_id, kind) == 1  # the revoked one no longer counts
        assert await uow.signers.delete(tenant_id, pending.id)
        assert await uow.signers.delete(tenant_id, certified.id)
        assert not await uow.signers.delete(tenant_id, certified.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.signers.list(tenant_id, kind, limit=10, after=None)).items == []


async def test_deleting_an_iaca_deletes_its_requests(uow_factory: Factory) -> None:
    tenant_id, iaca = await _tenant_and_iaca(uow_factory)
    async with uow_factory() as uow:
        await uow.signers.add_request(_request(tenant_id, iaca.id, 0))
        assert await uow.iacas.delete(tenant_id, iaca.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.signers.count_requested(tenant_id, SignerKind.DOCUMENT_SIGNER) == 0


async def test_tenant_settings(uow_factory: Factory) -> None:
    tenant_id, _ = await _tenant_and_iaca(uow_factory)
    async with uow_factory() as uow:
        assert await uow.tenant_settings.get(tenant_id) == TenantSettings(tenant_id=tenant_id)
        await uow.tenant_settings.put(TenantSettings(tenant_id, "NZ", "https://wallet.example/offer", T0))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tenant_settings.get(tenant_id) == TenantSettings(
            tenant_id, "NZ", "https://wallet.example/offer", T0
        )
        await uow.tenant_settings.put(TenantSettings(tenant_id, None, None, T0 + timedelta(days=1)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tenant_settings.get(tenant_id) == TenantSettings(tenant_id, None, None, T0 + timedelta(days=1))
        assert await uow.tenants.delete(tenant_id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tenant_settings.get(tenant_id) == TenantSettings(tenant_id=tenant_id)
