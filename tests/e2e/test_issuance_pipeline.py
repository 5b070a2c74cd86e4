"""The issuance pipeline decides before it signs: a request refused for a used nonce, a revoked or expired grant,
or a grant past its bound costs no signature (signer calls are counted)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from e2e.conftest import Api
from oi_issuer import Setup, make_setup
from oi_wallet import Wallet
from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.domain.ids import DEFAULT_TENANT_ID
from openissuer.domain.offers import AccessGrant
from openissuer.services.wallet_secrets import digest_secret


@pytest.fixture
def api_settings() -> dict[str, object]:
    return {"batch_size": 2, "credentials_per_grant": 2}


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every ES256 signature any software key makes (document signers, IACAs) while the test runs."""
    calls: list[bytes] = []
    real = SoftwareSigner.sign

    def counting(self: SoftwareSigner, data: bytes) -> bytes:
        calls.append(data)
        return real(self, data)

    monkeypatch.setattr(SoftwareSigner, "sign", counting)
    return calls


@pytest.fixture
async def setup(api: Api) -> Setup:
    return await make_setup(api)


async def _access(setup: Setup, wallet: Wallet) -> tuple[dict[str, Any], str]:
    offer = await wallet.read_offer((await setup.offer())["uri"])
    metadata, _ = await wallet.discover(offer["credential_issuer"])
    return metadata, (await wallet.token(offer)).json()["access_token"]


def _body(setup: Setup, *proofs: str) -> dict[str, Any]:
    return {"credential_configuration_id": setup.configuration_id, "proofs": {"jwt": list(proofs)}}


async def test_a_used_nonce_costs_no_signature(setup: Setup, signatures: list[bytes]) -> None:
    wallet = Wallet(setup.api.http)
    metadata, access = await _access(setup, wallet)
    nonce = await wallet.nonce(metadata)
    first = await wallet.credential(metadata, access, _body(setup, wallet.proof(metadata, nonce)))
    assert first.status_code == 200
    assert len(signatures) >= 1  # the credential (and the document signer's certificate, the first time)
    signatures.clear()
    again = await wallet.credential(metadata, access, _body(setup, wallet.proof(metadata, nonce)))
    assert again.status_code == 400 and again.json()["error"] == "invalid_nonce"
    assert signatures == []


async def test_a_revoked_or_expired_grant_costs_no_signature(setup: Setup, signatures: list[bytes]) -> None:
    wallet = Wallet(setup.api.http)
    metadata, _ = await _access(setup, wallet)  # creates the document signer
    now = setup.api.clock.now()
    code_hash = digest_secret("an authorization code")
    for token, expires in (("revoked-token", now + timedelta(minutes=5)), ("expired-token", now)):
        async with setup.api.container.uow_factory() as uow:
            await uow.access_grants.add(
                AccessGrant(
                    token_hash=digest_secret(token),
                    tenant_id=DEFAULT_TENANT_ID,
                    user_id="u",
                    credential_configuration_ids=(setup.configuration_id,),
                    credential_identifiers={},
                    notification_id="n",
                    claims={"given_name": "A", "family_name": "B", "birth_date": "2000-01-01"},
                    expires_at=expires,
                    created_at=now,
                    authorization_code_hash=code_hash,
                )
            )
            await uow.commit()
    async with setup.api.container.uow_factory() as uow:
        assert await uow.access_grants.revoke_for_code(code_hash, now) == 2  # a replayed code revokes both
        await uow.commit()
    signatures.clear()
    for token in ("revoked-token", "expired-token"):
        proof = wallet.proof(metadata, await wallet.nonce(metadata))
        refused = await wallet.credential(metadata, token, _body(setup, proof))
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    assert signatures == []


async def test_a_grant_past_its_bound_costs_no_signature(setup: Setup, signatures: list[bytes]) -> None:
    wallet = Wallet(setup.api.http)
    metadata, access = await _access(setup, wallet)
    two = [
        wallet.proof(metadata, nonce, key=key)
        for nonce in [await wallet.nonce(metadata)]
        for key in (
            wallet.key,
            Wallet(setup.api.http).key,
        )
    ]
    assert (await wallet.credential(metadata, access, _body(setup, *two))).status_code == 200
    signatures.clear()
    beyond = await wallet.credential(
        metadata, access, _body(setup, wallet.proof(metadata, await wallet.nonce(metadata)))
    )
    assert beyond.status_code == 400 and beyond.json()["error"] == "credential_request_denied"
    assert signatures == []


async def test_a_refused_request_still_uses_its_nonce_up(setup: Setup) -> None:
    """DESIGN.md §3: "A c_nonce is used up on first use, whatever happens after"."""
    wallet = Wallet(setup.api.http)
    metadata, access = await _access(setup, wallet)
    nonce = await wallet.nonce(metadata)
    body = {"credential_configuration_id": "not-covered", "proofs": {"jwt": [wallet.proof(metadata, nonce)]}}
    refused = await wallet.credential(metadata, access, body)
    assert refused.status_code == 400
    proof = wallet.proof(metadata, nonce)
    used = await wallet.credential(metadata, access, _body(setup, proof))
    assert used.status_code == 400 and used.json()["error"] == "invalid_nonce"
