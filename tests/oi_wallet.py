"""A wallet written for the tests: joserfc and httpx only, none of the server's code paths.

It follows OID4VCI 1.0 Final as a wallet would: parse the offer, discover the metadata, redeem the code, fetch a
nonce, prove possession of its key and ask for the credential.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def new_key() -> ECKey:
    return ECKey.generate_key("P-256")


def make_proof(key: ECKey, *, audience: str, nonce: str | None, **overrides: Any) -> str:
    """Return an ``openid4vci-proof+jwt`` signed by ``key`` with its public JWK in the header."""
    header = {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": key.as_dict(private=False)}
    header.update(overrides.pop("header", {}))
    claims: dict[str, Any] = {"aud": audience, "iat": int(time.time())}
    if nonce is not None:
        claims["nonce"] = nonce
    claims.update(overrides)
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


@dataclass
class Wallet:
    http: httpx.AsyncClient
    key: ECKey = field(default_factory=new_key)

    async def read_offer(self, uri: str) -> dict[str, Any]:
        """Return the Credential Offer of an ``openid-credential-offer://`` URI (fetching it when by reference)."""
        assert uri.startswith("openid-credential-offer://?")
        params = parse_qs(urlsplit(uri).query)
        if "credential_offer" in params:
            assert "credential_offer_uri" not in params
            return dict(json.loads(params["credential_offer"][0]))
        response = await self.http.get(params["credential_offer_uri"][0])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        return dict(response.json())

    async def discover(self, issuer: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Fetch the issuer and AS metadata with the path insertion rule."""
        parts = urlsplit(issuer)
        base = f"{parts.scheme}://{parts.netloc}"
        issuer_meta = (await self.http.get(f"{base}/.well-known/openid-credential-issuer{parts.path}")).json()
        assert issuer_meta["credential_issuer"] == issuer
        as_meta = (await self.http.get(f"{base}/.well-known/oauth-authorization-server{parts.path}")).json()
        return issuer_meta, as_meta

    async def token(self, offer: dict[str, Any], tx_code: str | None = None, **extra: str) -> httpx.Response:
        _, as_meta = await self.discover(offer["credential_issuer"])
        grant = offer["grants"][PRE_AUTHORIZED_GRANT]
        form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": grant["pre-authorized_code"], **extra}
        if tx_code is not None:
            form["tx_code"] = tx_code
        return await self.http.post(as_meta["token_endpoint"], data=form)

    async def nonce(self, metadata: dict[str, Any]) -> str:
        response = await self.http.post(metadata["nonce_endpoint"])
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        return str(response.json()["c_nonce"])

    def proof(self, metadata: dict[str, Any], nonce: str | None, key: ECKey | None = None, **overrides: Any) -> str:
        return make_proof(key or self.key, audience=metadata["credential_issuer"], nonce=nonce, **overrides)

    async def credential(self, metadata: dict[str, Any], access_token: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            metadata["credential_endpoint"], json=body, headers={"Authorization": f"Bearer {access_token}"}
        )

    async def claim(self, uri: str, tx_code: str | None = None) -> list[str]:
        """Run the whole flow for the first offered configuration; return the credentials."""
        offer = await self.read_offer(uri)
        metadata, _ = await self.discover(offer["credential_issuer"])
        token = await self.token(offer, tx_code)
        assert token.status_code == 200, token.text
        access_token = token.json()["access_token"]
        nonce = await self.nonce(metadata)
        body = {
            "credential_configuration_id": offer["credential_configuration_ids"][0],
            "proofs": {"jwt": [self.proof(metadata, nonce)]},
        }
        response = await self.credential(metadata, access_token, body)
        assert response.status_code == 200, response.text
        return [entry["credential"] for entry in response.json()["credentials"]]
