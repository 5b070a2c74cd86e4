"""The signers the IACA certifies: document signers and SD-JWT VC issuer certificates are kept apart, and an
issuer certificate is only used while it names the tenant's current issuer identifier."""

from __future__ import annotations

from datetime import timedelta

from cryptography import x509

from oi_testing import FakeClock
from openissuer.adapters.keys.store import SoftwareKeyStore
from openissuer.adapters.memory.store import InMemoryStore
from openissuer.adapters.memory.uow import InMemoryUnitOfWork
from openissuer.crypto.certificate_info import read_certificate_info
from openissuer.crypto.x509 import build_iaca_certificate
from openissuer.domain.ids import DEFAULT_TENANT_ID, new_id
from openissuer.domain.pki import CertificateData, Iaca, SignerKind
from openissuer.ports.uow import UnitOfWork
from openissuer.services.document_signers import SD_JWT_ISSUER_BACKDATE, DocumentSignerService, SdJwtIssuerService
from openissuer.services.iacas import iaca_key_aad


async def _with_iaca(clock: FakeClock) -> tuple[InMemoryStore, SoftwareKeyStore]:
    store, keys = InMemoryStore(), SoftwareKeyStore(b"k" * 32)
    iaca_id = new_id()
    signer, sealed = keys.generate(aad=iaca_key_aad(iaca_id))
    now = clock.now()
    certificate = build_iaca_certificate(
        signer,
        country="NZ",
        common_name="Example IACA",
        issuer_alternative_name_uri="https://issuer.example",
        crl_distribution_point_uri="https://issuer.example/crl",
        not_before=now - timedelta(days=30),
        not_after=now + timedelta(days=3650),
    )
    info = read_certificate_info(certificate)
    iaca = Iaca(
        id=iaca_id,
        tenant_id=DEFAULT_TENANT_ID,
        active=True,
        certificate_der=certificate,
        fingerprint=info.sha256_fingerprint,
        data=CertificateData("Example IACA", "NZ", info.not_before, info.not_after),
        sealed_private_key=sealed,
        created_at=now,
    )
    async with InMemoryUnitOfWork(store) as uow:
        await uow.iacas.add(iaca)
        await uow.commit()
    return store, keys


def _uow(store: InMemoryStore) -> object:
    def factory(*, read_only: bool = False) -> UnitOfWork:
        return InMemoryUnitOfWork(store, read_only=read_only)

    return factory


async def test_each_kind_signs_with_its_own_certificates_and_the_issuer_certificate_names_the_issuer() -> None:
    clock = FakeClock()
    store, keys = await _with_iaca(clock)
    issuer = ["https://issuer.example"]

    async def issuer_of(tenant_id: str) -> str:
        return issuer[0]

    documents = DocumentSignerService(_uow(store), clock, keys)  # type: ignore[arg-type]
    sd_jwt = SdJwtIssuerService(_uow(store), clock, keys, issuer_of)  # type: ignore[arg-type]
    until = clock.now() + timedelta(days=30)
    version = store.state.tenants[DEFAULT_TENANT_ID].config_version
    ds = await documents.signer_for(DEFAULT_TENANT_ID, version, until)
    first = await sd_jwt.signer_for(DEFAULT_TENANT_ID, version, until)
    assert ds.signer_id != first.signer_id
    kinds = {s.id: s.kind for s in store.state.document_signers.values()}
    assert kinds == {ds.signer_id: SignerKind.DOCUMENT_SIGNER, first.signer_id: SignerKind.SD_JWT_ISSUER}
    # Each finds its own again, at a later version too.
    version = store.state.tenants[DEFAULT_TENANT_ID].config_version
    assert (await documents.signer_for(DEFAULT_TENANT_ID, version, until)).signer_id == ds.signer_id
    assert (await sd_jwt.signer_for(DEFAULT_TENANT_ID, version, until)).signer_id == first.signer_id
    leaf = x509.load_der_x509_certificate(first.signer.x5c[0])
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["https://issuer.example"]
    # Starts a day early (iat is drawn from the day before issuance), within the IACA.
    assert leaf.not_valid_before_utc == clock.now() - SD_JWT_ISSUER_BACKDATE
    # The issuer identifier changed (a new public URL): a certificate naming the old one is not used any more.
    issuer[0] = "https://new.example"
    second = await sd_jwt.signer_for(DEFAULT_TENANT_ID, version, until)
    assert second.signer_id != first.signer_id
    san = x509.load_der_x509_certificate(second.signer.x5c[0]).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == ["https://new.example"]
    version = store.state.tenants[DEFAULT_TENANT_ID].config_version
    published = await sd_jwt.certificates(DEFAULT_TENANT_ID, version)
    assert {s.id for s in published} == {second.signer_id, first.signer_id}  # both verify what they signed
    assert all(s.kind is SignerKind.SD_JWT_ISSUER for s in published)
