"""Public documents of SD-JWT VC issuance, per tenant: the JWT VC Issuer Metadata with the issuer's keys, and the
Type Metadata of the types the tenant hosts.

- ``/.well-known/jwt-vc-issuer`` (+ the issuer's path, inserted as for the other well-known documents):
  ``{issuer, jwks: {keys}}`` (draft-ietf-oauth-sd-jwt-vc "JWT VC Issuer Metadata"): the public keys of the
  tenant's unrevoked, unexpired SD-JWT VC issuer certificates under its active IACAs, each with ``kid`` (its RFC
  7638 thumbprint, the ``kid`` of the credentials it signs), ``use``, ``alg`` and its certificate in ``x5c``.
- ``<issuer>/vct/<name>``: the Type Metadata of a configuration whose ``vct`` is exactly that URL. A ``vct``
  anywhere else is not hosted here (a URN, or a URL of a registry or of the type's owner).
"""

from __future__ import annotations

from typing import Any

from openissuer.crypto.certificate_info import public_jwk_from_certificate
from openissuer.crypto.jwk import compute_jwk_thumbprint
from openissuer.crypto.jws_signing import encode_x5c
from openissuer.crypto.signer import ES256
from openissuer.formats.base import TypeMetadataFormat
from openissuer.ports.clock import Clock
from openissuer.ports.wallet_store import WalletStore
from openissuer.services.configurations import ConfigurationCatalog
from openissuer.services.document_signers import IacaSignerService
from openissuer.services.tenancy import WalletTenant

TYPE_METADATA_PATH = "/vct/"
"""Where a tenant hosts Type Metadata: a configuration whose vct is ``<public URL>/vct/<name>`` is served there."""


class JwtVcIssuerService:
    """Build the tenant's JWT VC Issuer Metadata and hosted Type Metadata."""

    def __init__(
        self, store: WalletStore, catalog: ConfigurationCatalog, issuers: IacaSignerService, clock: Clock
    ) -> None:
        self._store = store
        self._clock = clock
        self._catalog = catalog
        self._issuers = issuers

    async def issuer_metadata(self, tenant: WalletTenant) -> dict[str, Any]:
        """Return ``{issuer, jwks}`` for the tenant (an empty key set while it has signed nothing)."""
        version = await self._store.config_version(tenant.id) or 0
        keys = []
        for record in await self._issuers.certificates(tenant.id, version):
            jwk = public_jwk_from_certificate(record.certificate_der)
            keys.append(
                {
                    **jwk,
                    "kid": compute_jwk_thumbprint(jwk),
                    "use": "sig",
                    "alg": ES256,
                    "x5c": encode_x5c([record.certificate_der]),
                }
            )
        return {"issuer": tenant.issuer, "jwks": {"keys": keys}}

    async def type_metadata(self, tenant: WalletTenant, path: str) -> dict[str, Any] | None:
        """Return the Type Metadata of the configuration whose vct is ``tenant.issuer + path``, or None."""
        if not path.startswith(TYPE_METADATA_PATH) or len(path) == len(TYPE_METADATA_PATH):
            return None
        vct = tenant.issuer + path
        configurations = await self._catalog.current(tenant.id)
        for prepared in configurations.by_id.values():
            credential_format = prepared.format
            if prepared.configuration.credential_type == vct and isinstance(credential_format, TypeMetadataFormat):
                return credential_format.type_metadata(prepared.format_configuration(self._clock.now()))
        return None
