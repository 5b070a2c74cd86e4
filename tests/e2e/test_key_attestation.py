"""Key attestations: the key_attestation header of jwt proofs and the attestation proof type, a configuration's
key_attestations_required enforced and published, and a negative test per rule; attestations signed by test PKIs."""

from __future__ import annotations

import time
from typing import Any

import pytest

from oi_haip import Pki, jwt_proof, key_attestation, new_key, public, self_signed_x5c
from oi_issuer import Setup, make_setup
from oi_wallet import Wallet, make_proof

ISSUER = "https://issuer.example"
HIGH = "iso_18045_high"


def assert_error(response: Any, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text


@pytest.fixture
def pki() -> Pki:
    return Pki(name="Test Key Store")


@pytest.fixture
async def setup(api: Any, pki: Pki) -> Setup:
    setup = await make_setup(api)
    policy = {"keyAttestation": {"rootCertificates": [pki.anchor_pem]}}
    assert (await api.http.put("/v1/openid/wallet-security", headers=setup.headers, json=policy)).status_code == 200
    path = f"/v2/credentials/mobile/configurations/{setup.configuration_id}"
    body = (await api.http.get(path, headers=setup.headers)).json()
    body.pop("id")
    body["keyAttestationsRequired"] = {"keyStorage": [HIGH, "iso_18045_moderate"]}
    response = await api.http.put(path, headers=setup.headers, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["keyAttestationsRequired"] == {"keyStorage": [HIGH, "iso_18045_moderate"]}
    return setup


class Session:
    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.wallet = Wallet(setup.api.http)
        self.metadata: dict[str, Any] = {}
        self.access_token = ""

    async def start(self) -> Session:
        offer = await self.wallet.read_offer((await self.setup.offer())["uri"])
        self.metadata, _ = await self.wallet.discover(ISSUER)
        self.access_token = (await self.wallet.token(offer)).json()["access_token"]
        return self

    async def nonce(self) -> str:
        return await self.wallet.nonce(self.metadata)

    async def send(self, proofs: dict[str, list[str]]) -> Any:
        body = {"credential_configuration_id": self.setup.configuration_id, "proofs": proofs}
        return await self.wallet.credential(self.metadata, self.access_token, body)


@pytest.fixture
async def session(setup: Setup) -> Session:
    return await Session(setup).start()


async def test_metadata_publishes_the_requirement_and_the_attestation_proof_type(session: Session) -> None:
    entry = session.metadata["credential_configurations_supported"][session.setup.configuration_id]
    proof_types = entry["proof_types_supported"]
    assert proof_types["jwt"]["key_attestations_required"] == {"key_storage": [HIGH, "iso_18045_moderate"]}
    assert proof_types["attestation"] == {
        "proof_signing_alg_values_supported": ["ES256"],
        "key_attestations_required": {"key_storage": [HIGH, "iso_18045_moderate"]},
    }


async def test_a_jwt_proof_with_a_key_attestation_gets_one_credential_per_attested_key(
    session: Session, pki: Pki
) -> None:
    keys = [new_key(), new_key()]
    nonce = await session.nonce()
    attestation = key_attestation(pki, keys, nonce=nonce, key_storage=[HIGH])
    proof = jwt_proof(keys[0], ISSUER, nonce, attestation)
    response = await session.send({"jwt": [proof]})
    assert response.status_code == 200, response.text
    assert len(response.json()["credentials"]) == 2


async def test_the_attestation_proof_type_gets_one_credential_per_attested_key(session: Session, pki: Pki) -> None:
    keys = [new_key(), new_key(), new_key()]
    attestation = key_attestation(pki, keys, nonce=await session.nonce(), key_storage=["iso_18045_moderate"])
    response = await session.send({"attestation": [attestation]})
    assert response.status_code == 200, response.text
    assert len(response.json()["credentials"]) == 3


class TestEachRule:
    @pytest.mark.parametrize(
        ("make", "reason"),
        [
            (lambda s, p, n, k: {"jwt": [make_proof(k, audience=ISSUER, nonce=n)]}, "requires a key attestation"),
            (
                lambda s, p, n, k: {"attestation": [key_attestation(p, [k], nonce=n, key_storage=["iso_18045_basic"])]},
                "key_storage",
            ),
            (lambda s, p, n, k: {"attestation": [key_attestation(p, [k], nonce=n)]}, "key_storage"),
            (lambda s, p, n, k: {"attestation": [key_attestation(Pki(), [k], nonce=n, key_storage=[HIGH])]}, "trusted"),
            (
                lambda s, p, n, k: {
                    "attestation": [
                        key_attestation(p, [k], nonce=n, key_storage=[HIGH], x5c=self_signed_x5c(p.signer_key))
                    ]
                },
                "self-signed",
            ),
            (
                lambda s, p, n, k: {
                    "attestation": [key_attestation(p, [k], nonce=n, key_storage=[HIGH], exp=int(time.time()) - 5)]
                },
                "expired",
            ),
            (lambda s, p, n, k: {"attestation": [key_attestation(p, [k], key_storage=[HIGH])]}, "c_nonce"),
            (
                lambda s, p, n, k: {
                    "attestation": [key_attestation(p, [k], nonce=n, key_storage=[HIGH], attested_keys=[])]
                },
                "attested_keys",
            ),
            (
                lambda s, p, n, k: {
                    "attestation": [
                        key_attestation(p, [k], nonce=n, key_storage=[HIGH], attested_keys=[k.as_dict(private=True)])
                    ]
                },
                "public",
            ),
            (
                lambda s, p, n, k: {"attestation": [key_attestation(p, [k], nonce=n, key_storage=[HIGH]), "x.y.z"]},
                "exactly one",
            ),
            (  # the proof is not signed by an attested key
                lambda s, p, n, k: {
                    "jwt": [jwt_proof(new_key(), ISSUER, n, key_attestation(p, [k], nonce=n, key_storage=[HIGH]))]
                },
                "attests",
            ),
            (  # with the jwt proof type the key attestation needs exp (no exp given: key_attestation() adds one)
                lambda s, p, n, k: {
                    "jwt": [
                        jwt_proof(
                            k,
                            ISSUER,
                            n,
                            p.sign(
                                {"typ": "key-attestation+jwt"},
                                {
                                    "iat": int(time.time()),
                                    "attested_keys": [public(k)],
                                    "key_storage": [HIGH],
                                    "nonce": n,
                                },
                            ),
                        )
                    ]
                },
                "exp",
            ),
            (  # the key attestation's nonce is another c_nonce
                lambda s, p, n, k: {
                    "jwt": [jwt_proof(k, ISSUER, n, key_attestation(p, [k], nonce="other", key_storage=[HIGH]))]
                },
                "nonce",
            ),
            (
                lambda s, p, n, k: {
                    "attestation": [
                        p.sign({"typ": "JWT"}, {"iat": int(time.time()), "attested_keys": [k.as_dict(private=False)]})
                    ]
                },
                "typ",
            ),
        ],
    )
    async def test_refused(self, session: Session, pki: Pki, make: Any, reason: str) -> None:
        response = await session.send(make(session, pki, await session.nonce(), new_key()))
        assert_error(response, "invalid_proof")
        assert reason in response.json()["error_description"], response.text
        good = key_attestation(pki, [new_key()], nonce=await session.nonce(), key_storage=[HIGH])
        assert (await session.send({"attestation": [good]})).status_code == 200  # control


async def test_without_anchors_the_attestation_proof_type_is_refused(api: Any) -> None:
    setup = await make_setup(api)
    session = await Session(setup).start()
    attestation = key_attestation(Pki(), [new_key()], nonce=await session.nonce(), key_storage=[HIGH])
    response = await session.send({"attestation": [attestation]})
    assert_error(response, "invalid_proof")
    entry = session.metadata["credential_configurations_supported"][setup.configuration_id]
    assert set(entry["proof_types_supported"]) == {"jwt"}
    assert "key_attestations_required" not in entry["proof_types_supported"]["jwt"]
