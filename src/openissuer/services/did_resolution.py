"""Resolve another issuer's ``did:web`` key through the guarded outbound fetcher (for ``/verify`` with
``trustedIssuers``).

Only DIDs the caller listed in ``trustedIssuers`` are resolved, so a credential cannot make the server fetch a URL
of its choosing; the fetcher's SSRF guard, 3 s timeout and 1 MB cap apply. did:web is read over https; with
``allow_http`` (``OPENISSUER_OUTBOUND_ALLOW_PRIVATE``, development and tests) over plain http.
"""

from __future__ import annotations

from typing import Any

from openissuer.crypto.jwk import JwkError, parse_p256_public_jwk
from openissuer.domain.compact_credentials import CompactCredentialError, VerificationFailure
from openissuer.domain.dids import create_did_document_url, find_assertion_key
from openissuer.ports.http import HttpFetcher, OutboundRequestError


class DidWebResolver:
    """Find the P-256 key of ``<did>#<kid>`` in a did:web DID document."""

    def __init__(self, fetcher: HttpFetcher, *, allow_http: bool = False) -> None:
        self._fetcher = fetcher
        self._scheme = "http" if allow_http else "https"

    async def resolve_key(self, did: str, kid: str) -> dict[str, Any]:
        """Return the public JWK; ``IssuerNotResolvable`` when the document cannot be read,
        ``IssuerPublicKeyInvalid`` when it has no usable P-256 assertion key ``kid``."""
        document = await self.fetch(did)
        jwk = find_assertion_key(document, did, kid)
        if jwk is None:
            raise CompactCredentialError(
                VerificationFailure.ISSUER_PUBLIC_KEY_INVALID,
                "The issuer's DID document has no assertion method for the credential's kid",
            )
        try:
            parse_p256_public_jwk(jwk)
        except JwkError as exc:
            raise CompactCredentialError(
                VerificationFailure.ISSUER_PUBLIC_KEY_INVALID, "The issuer's key is not a P-256 public key"
            ) from exc
        return jwk

    async def fetch(self, did: str) -> Any:
        """Return the parsed DID document of a did:web DID."""
        try:
            url = create_did_document_url(did, scheme=self._scheme)
        except ValueError as exc:
            raise _unresolvable("The issuer is not a did:web DID") from exc
        try:
            response = await self._fetcher.request("GET", url, headers={"accept": "application/did+json"})
        except OutboundRequestError as exc:
            raise _unresolvable(f"The issuer's DID document could not be fetched: {exc.description}") from exc
        if response.status != 200:
            raise _unresolvable(f"The issuer's DID document could not be fetched (HTTP {response.status})")
        try:
            return response.json()
        except ValueError as exc:
            raise _unresolvable("The issuer's DID document is not JSON") from exc


def _unresolvable(message: str) -> CompactCredentialError:
    return CompactCredentialError(VerificationFailure.ISSUER_NOT_RESOLVABLE, message)
