"""An issuer's own IACA kept outside openissuer (reference §8.1 "unmanaged"): built with ``cryptography`` alone,
it signs the certificate requests openissuer hands out, the way an issuer's offline CA would."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pymdoccbor.mdoc.verifier import MobileDocument

from oi_issuer import CLAIMS, MDL, NS
from oi_wallet import Wallet

MDL_DS = x509.ObjectIdentifier("1.0.18013.5.1.2")
IACAS = "/v2/credentials/mobile/iacas"
DS = "/v2/credentials/mobile/document-signers"
SLS = "/v2/credentials/mobile/status-list-signers"


def usage_of(*, cert_sign: bool = False, digital_signature: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def pem_of(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class ExternalIaca:
    key: Any
    certificate: x509.Certificate

    @property
    def pem(self) -> str:
        return pem_of(self.certificate)

    @classmethod
    def create(
        cls,
        *,
        curve: ec.EllipticCurve | None = None,
        ca: bool = True,
        path_length: int | None = 0,
        key_usage: x509.KeyUsage | None = None,
        not_before: datetime | None = None,
        days: int = 3650,
        country: str | None = "NZ",
        issuer_key: Any = None,
    ) -> ExternalIaca:
        """A self-signed IACA per ISO/IEC 18013-5 B.1.2; the arguments make the broken variants tests need."""
        key = ec.generate_private_key(curve or ec.SECP256R1())
        start = not_before or datetime.now(UTC) - timedelta(days=1)
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, "Holder IACA")]
        if country is not None:
            attributes.insert(0, x509.NameAttribute(NameOID.COUNTRY_NAME, country))
        name = x509.Name(attributes)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
            .add_extension(key_usage or usage_of(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        return cls(key, builder.sign(issuer_key or key, hashes.SHA256()))

    def issue(
        self,
        csr_pem: str,
        *,
        days: int = 365,
        not_before: datetime | None = None,
        eku: x509.ObjectIdentifier | None = MDL_DS,
        ca: bool = False,
        digital_signature: bool = True,
        public_key: Any = None,
        signing_key: Any = None,
        issuer_name: x509.Name | None = None,
    ) -> str:
        """Sign a request as the IACA's holder would (the arguments make the wrong certificates tests need)."""
        request = x509.load_pem_x509_csr(csr_pem.encode())
        assert request.is_signature_valid
        start = not_before or datetime.now(UTC) - timedelta(minutes=10)
        builder = (
            x509.CertificateBuilder()
            .subject_name(request.subject)
            .issuer_name(issuer_name or self.certificate.subject)
            .public_key(public_key or request.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(usage_of(digital_signature=digital_signature, cert_sign=ca), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        if eku is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
        return pem_of(builder.sign(signing_key or self.key, hashes.SHA256()))


# --- driving the API --------------------------------------------------------------------------------------------


async def client(api: Any, headers: dict[str, str], role: str) -> dict[str, str]:
    created = await api.http.post("/v1/api-clients", headers=headers, json={"name": role, "roles": [role]})
    assert created.status_code == 201, created.text
    return dict(await api.auth(created.json()["clientId"], created.json()["clientSecret"]))


async def upload(api: Any, headers: dict[str, str], external: ExternalIaca, **extra: Any) -> Any:
    return await api.http.post(IACAS, headers=headers, json={"certificatePem": external.pem, **extra})


async def mdl_configuration(api: Any, headers: dict[str, str]) -> str:
    body = {
        "type": MDL,
        "claimMappings": {
            NS: {
                "given_name": {"mapFrom": "claims.given_name", "type": "string", "required": True},
                "family_name": {"mapFrom": "claims.family_name", "type": "string", "required": True},
            }
        },
        "expiresIn": {"days": 30},
    }
    created = await api.http.post("/v2/credentials/mobile/configurations", headers=headers, json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def claim(api: Any, headers: dict[str, str], configuration_id: str) -> Any:
    offer = await api.http.post(
        "/v1/openid/offers/pre-authorized",
        headers=headers,
        json={"credentials": [configuration_id], "claims": CLAIMS},
    )
    assert offer.status_code == 200, offer.text
    wallet = Wallet(api.http)
    parsed = await wallet.read_offer(offer.json()["uri"])
    metadata, _ = await wallet.discover(parsed["credential_issuer"])
    token = (await wallet.token(parsed)).json()["access_token"]
    body = {
        "credential_configuration_id": configuration_id,
        "proofs": {"jwt": [wallet.proof(metadata, await wallet.nonce(metadata))]},
    }
    return await wallet.credential(metadata, token, body)


def document_signer_of(credential: str, iaca_pem: str) -> x509.Certificate:
    """Verify the mDoc against the IACA with pymdoccbor; return its document signer certificate (x5chain)."""
    issuer_signed = cbor2.loads(base64.urlsafe_b64decode(credential + "=" * (-len(credential) % 4)))
    document = MobileDocument(docType=MDL, issuerSigned=issuer_signed)
    document.verify(trusted_root_certs=[x509.load_pem_x509_certificate(iaca_pem.encode())])
    assert document.is_valid
    chain = issuer_signed["issuerAuth"][1][33]  # x5chain in the unprotected header: one certificate, or a list
    return x509.load_der_x509_certificate(chain if isinstance(chain, bytes) else chain[0])
