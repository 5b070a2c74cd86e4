"""The storage contract for credential configurations (every format), IACAs, document signers, issued-credential
records, and the tenant configuration version their changes raise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from openissuer.domain.branding import Branding
from openissuer.domain.configurations import CredentialConfiguration
from openissuer.domain.durations import Duration
from openissuer.domain.ids import new_id
from openissuer.domain.issued import IssuedCredentialRecord, StatusReference
from openissuer.domain.pki import CertificateData, DocumentSigner, Iaca
from openissuer.domain.tenants import Tenant
from openissuer.errors import ConflictError
from openissuer.ports.uow import UnitOfWork

T0 = datetime(2026, 11, 1, 12, 0, 0, 250000, tzinfo=UTC)
Factory = Callable[[], UnitOfWork]


async def tenant(uow_factory: Factory) -> str:
    t = Tenant(id=new_id(), name="t", created_at=T0)
    async with uow_factory() as uow:
        await uow.tenants.add(t)
        await uow.commit()
    return t.id


def configuration(
    tenant_id: str, credential_type: str = "org.iso.18013.5.1.mDL", **kw: object
) -> CredentialConfiguration:
    values: dict[str, object] = {
        "id": new_id(),
        "tenant_id": tenant_id,
        "format": "mso_mdoc",
        "credential_type": credential_type,
        "claim_mappings": {"ns": {"a": {"mapFrom": "claims.a", "type": "string", "required": True}}},
        "expires_in": Duration(months=6, days=1),
        "valid_from_path": "claims.from",
        "valid_until_path": None,
        "claim_source_id": None,
        "include_status": False,
        "branding": Branding(name="n", background_color="#000000"),
        "options": {"pdfTemplateId": "t-1", "nested": {"a": [1, 2]}},
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(kw)
    return CredentialConfiguration(**values)  # type: ignore[arg-type]


def iaca(tenant_id: str, *, active: bool = False, created_at: datetime = T0) -> Iaca:
    return Iaca(
        id=new_id(),
        tenant_id=tenant_id,
        active=active,
        certificate_der=b"\x30\x82cert",
        fingerprint="ab" * 32,
        data=CertificateData("CN", "NZ", T0, T0 + timedelta(days=3650), "NZ-AUK"),
        sealed_private_key=b"\x01sealed\x00bytes",
        created_at=created_at,
    )


def signer(tenant_id: str, iaca_id: str, created_at: datetime = T0) -> DocumentSigner:
    return DocumentSigner(
        id=new_id(),
        tenant_id=tenant_id,
        iaca_id=iaca_id,
        certificate_der=b"\x30ds",
        serial_number=2**126 + 12345,
        not_before=T0,
        not_after=T0 + timedelta(days=457),
        sealed_private_key=b"\x01key",
        created_at=created_at,
    )


async def test_configuration_round_trip_filter_update_delete(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)
    mdl, badge = configuration(tid), configuration(tid, "org.example.badge", created_at=T0 + timedelta(seconds=1))
    async with uow_factory() as uow:
        await uow.credential_configurations.add(mdl)
        await uow.credential_configurations.add(badge)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.credential_configurations.get(tid, mdl.id) == mdl
        page = await uow.credential_configurations.list(tid, format="mso_mdoc", limit=10, after=None)
        assert [c.id for c in page.items] == [mdl.id, badge.id]
        only = await uow.credential_configurations.list(
            tid, format="mso_mdoc", limit=10, after=None, credential_type="org.example.badge"
        )
        assert only.items == [badge]
        assert (await uow.credential_configurations.list(tid, format="cwt", limit=10, after=None)).items == []
        assert list(await uow.credential_configurations.list_all(tid)) == [mdl, badge]
        changed = replace(mdl, expires_in=Duration(days=10), branding=None, updated_at=T0 + timedelta(hours=1))
        assert await uow.credential_configurations.update(changed) is True
        assert await uow.credential_configurations.update(replace(mdl, id=new_id())) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.credential_configurations.get(tid, mdl.id) == changed
        assert await uow.credential_configurations.delete(tid, mdl.id) is True
        assert await uow.credential_configurations.delete(tid, mdl.id) is False
        await uow.commit()


async def test_configuration_type_unique_per_tenant_and_format(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    first, badge = configuration(tid), configuration(tid, "org.example.badge")
    async with uow_factory() as uow:
        await uow.credential_configurations.add(first)
        await uow.credential_configurations.add(badge)
        with pytest.raises(ConflictError):
            await uow.credential_configurations.add(configuration(tid))
        with pytest.raises(ConflictError):
            await uow.credential_configurations.update(replace(badge, credential_type=first.credential_type))
        await uow.credential_configurations.add(configuration(other))  # another tenant may use the type
        await uow.credential_configurations.add(configuration(tid, format="cwt"))  # and another format
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.credential_configurations.get(tid, badge.id)) == badge
        assert await uow.credential_configurations.get(other, first.id) is None


async def test_iacas_and_their_signers(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    old, new = iaca(tid), iaca(tid, created_at=T0 + timedelta(days=1))
    async with uow_factory() as uow:
        await uow.iacas.add(old)
        await uow.iacas.add(new)
        await uow.iacas.add(iaca(other, active=True))
        older, newer = signer(tid, old.id), signer(tid, old.id, created_at=T0 + timedelta(days=2))
        await uow.document_signers.add(older)
        await uow.document_signers.add(newer)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.iacas.get(tid, old.id) == old
        assert await uow.iacas.count(tid) == 2
        assert list(await uow.iacas.list_active(tid)) == []
        activated = await uow.iacas.set_active(tid, old.id, True)
        assert activated == replace(old, active=True)
        await uow.iacas.set_active(tid, new.id, True)
        assert [i.id for i in await uow.iacas.list_active(tid)] == [new.id, old.id]
        assert await uow.iacas.set_active(other, old.id, False) is None
        assert list(await uow.document_signers.list_for_iaca(tid, old.id)) == [newer, older]
        assert list(await uow.document_signers.list_for_iaca(other, old.id)) == []
        assert [i.id for i in (await uow.iacas.list(tid, limit=1, after=None)).items] == [old.id]
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.iacas.delete(other, old.id) is False
        assert await uow.iacas.delete(tid, old.id) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.iacas.get(tid, old.id) is None
        assert list(await uow.document_signers.list_for_iaca(tid, old.id)) == []


async def test_issued_credential_records(uow_factory: Factory) -> None:
    tid = await tenant(uow_factory)

    def record(user: str | None, at: datetime) -> IssuedCredentialRecord:
        return IssuedCredentialRecord(
            id=new_id(),
            tenant_id=tid,
            configuration_id=new_id(),
            format="mso_mdoc",
            profile="mobile",
            credential_type="d",
            details={"namespaces": {"ns": {"a": {"digestID": 7, "digest": "abc"}}}, "msoHash": "h"},
            holder_key_thumbprint="t" * 43,
            status_reference=StatusReference(list_id=new_id(), index=99_999) if user == "u2" else None,
            issued_at=at,
            valid_from=at,
            valid_until=at + timedelta(days=1),
            user_id=user,
            offer_id=None,
            signer_id=new_id(),
        )

    records = [record("u1", T0), record("u2", T0 + timedelta(seconds=1)), record("u1", T0 + timedelta(seconds=2))]
    async with uow_factory() as uow:
        for r in records:
            await uow.issued_credentials.add(r)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.issued_credentials.get(tid, records[0].id) == records[0]
        mine = await uow.issued_credentials.list(tid, limit=10, after=None, user_id="u1")
        assert mine.items == [records[0], records[2]]
        first = await uow.issued_credentials.list(tid, limit=2, after=None)
        assert first.items == records[:2] and first.next_key is not None
        rest = await uow.issued_credentials.list(tid, limit=2, after=first.next_key)
        assert rest.items == records[2:] and rest.next_key is None


async def _version(uow_factory: Factory, tenant_id: str) -> int | None:
    async with uow_factory(read_only=True) as uow:  # type: ignore[call-arg]
        return await uow.tenants.get_config_version(tenant_id)


async def test_changes_to_what_issuance_reads_raise_the_configuration_version(uow_factory: Factory) -> None:
    tid, other = await tenant(uow_factory), await tenant(uow_factory)
    assert await _version(uow_factory, tid) == 0
    mdl, authority = configuration(tid), iaca(tid)
    steps = [
        lambda uow: uow.credential_configurations.add(mdl),
        lambda uow: uow.credential_configurations.update(replace(mdl, expires_in=Duration(days=1))),
        lambda uow: uow.iacas.add(authority),
        lambda uow: uow.iacas.set_active(tid, authority.id, True),
        lambda uow: uow.document_signers.add(signer(tid, authority.id)),
        lambda uow: uow.credential_configurations.delete(tid, mdl.id),
        lambda uow: uow.iacas.delete(tid, authority.id),
    ]
    for expected, step in enumerate(steps, start=1):
        async with uow_factory() as uow:
            await step(uow)
            await uow.commit()
        assert await _version(uow_factory, tid) == expected
    async with uow_factory() as uow:
        assert await uow.credential_configurations.update(configuration(tid)) is False  # unknown: no change
        assert await uow.credential_configurations.delete(tid, mdl.id) is False
        await uow.credential_configurations.add(configuration(tid, "x"))
        # a rolled-back change leaves the version as it was
    assert await _version(uow_factory, tid) == len(steps)
    assert await _version(uow_factory, other) == 0
    assert await _version(uow_factory, new_id()) is None


async def test_tenants_list_and_delete_with_everything_they_hold(uow_factory: Factory) -> None:
    tid, keep = await tenant(uow_factory), await tenant(uow_factory)
    mdl, authority = configuration(tid), iaca(tid)
    async with uow_factory() as uow:
        await uow.credential_configurations.add(mdl)
        await uow.credential_configurations.add(configuration(keep))
        await uow.iacas.add(authority)
        await uow.document_signers.add(signer(tid, authority.id))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tenants.delete(tid) is True
        assert await uow.tenants.delete(tid) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tenants.get(tid) is None
        assert await uow.credential_configurations.get(tid, mdl.id) is None
        assert await uow.iacas.get(tid, authority.id) is None
        assert list(await uow.document_signers.list_for_iaca(tid, authority.id)) == []
        assert len(await uow.credential_configurations.list_all(keep)) == 1
        ids: list[str] = []
        page = await uow.tenants.list(limit=1000, after=None)
        ids += [t.id for t in page.items]
        assert keep in ids and tid not in ids
