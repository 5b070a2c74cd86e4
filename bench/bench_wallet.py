"""A small OID4VCI wallet for load generation: joserfc + httpx, none of the server's code.

Each wallet holds its own P-256 key and runs the Pre-authorized Code flow's wallet steps for an offer it is given:
token -> nonce -> credential with an ``openid4vci-proof+jwt`` over the fresh ``c_nonce``.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import cbor2
import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
STEPS = ("token", "nonce", "credential")


class FlowError(Exception):
    """A wallet step did not answer as the specification says it must."""


@dataclass(frozen=True)
class Offer:
    """What a wallet needs from a by-value Credential Offer."""

    configuration_id: str
    pre_authorized_code: str

    @classmethod
    def from_uri(cls, uri: str) -> Offer:
        params = parse_qs(urlsplit(uri).query)
        offer = json.loads(params["credential_offer"][0])
        grant = offer["grants"][PRE_AUTHORIZED_GRANT]
        if "tx_code" in grant:
            raise FlowError("the bench creates offers without a tx_code")
        return cls(offer["credential_configuration_ids"][0], grant["pre-authorized_code"])


@dataclass(frozen=True)
class IssuerMetadata:
    credential_issuer: str
    token_endpoint: str
    nonce_endpoint: str
    credential_endpoint: str


async def discover(http: httpx.AsyncClient, base_url: str) -> IssuerMetadata:
    """Fetch the issuer and authorization server metadata once (wallets cache it; it is not part of a flow)."""
    issuer = (await http.get(f"{base_url}/.well-known/openid-credential-issuer")).json()
    oauth = (await http.get(f"{base_url}/.well-known/oauth-authorization-server")).json()
    return IssuerMetadata(
        credential_issuer=issuer["credential_issuer"],
        token_endpoint=oauth["token_endpoint"],
        nonce_endpoint=issuer["nonce_endpoint"],
        credential_endpoint=issuer["credential_endpoint"],
    )


@dataclass
class Wallet:
    http: httpx.AsyncClient
    metadata: IssuerMetadata
    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256"))

    def proof(self, nonce: str) -> str:
        header = {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": self.key.as_dict(private=False)}
        claims = {"aud": self.metadata.credential_issuer, "iat": int(time.time()), "nonce": nonce}
        return jwt.encode(header, claims, self.key, algorithms=["ES256"])

    async def claim(self, offer: Offer, timings: dict[str, list[float]]) -> str:
        """Run token -> nonce -> credential; append each step's latency (seconds) to ``timings``; return it."""
        started = time.perf_counter()
        token = await self.http.post(
            self.metadata.token_endpoint,
            data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": offer.pre_authorized_code},
        )
        after_token = time.perf_counter()
        _expect(token, "token")
        access_token = token.json()["access_token"]
        nonce = await self.http.post(self.metadata.nonce_endpoint)
        after_nonce = time.perf_counter()
        _expect(nonce, "nonce")
        body = {
            "credential_configuration_id": offer.configuration_id,
            "proofs": {"jwt": [self.proof(nonce.json()["c_nonce"])]},
        }
        before_credential = time.perf_counter()
        response = await self.http.post(
            self.metadata.credential_endpoint, json=body, headers={"Authorization": f"Bearer {access_token}"}
        )
        done = time.perf_counter()
        _expect(response, "credential")
        timings["token"].append(after_token - started)
        timings["nonce"].append(after_nonce - after_token)
        timings["credential"].append(done - before_credential)
        timings["flow"].append(done - started)
        return str(response.json()["credentials"][0]["credential"])

    def check_bound(self, credential: str) -> None:
        """Check that an issued mDoc's device key is this wallet's key (a sanity check, not a verification)."""
        issuer_signed = cbor2.loads(base64.urlsafe_b64decode(credential + "=" * (-len(credential) % 4)))
        mso = cbor2.loads(cbor2.loads(issuer_signed["issuerAuth"][2]).value)
        device_key = mso["deviceKeyInfo"]["deviceKey"]
        x = self.key.as_dict(private=False)["x"]
        if device_key[-2] != base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)):
            raise FlowError("the credential is not bound to the wallet's key")


def _expect(response: httpx.Response, step: str) -> None:
    if response.status_code != 200:
        raise FlowError(f"{step}: HTTP {response.status_code} {response.text[:300]}")
