"""Issue one mDoc: map the claims, pick the document signer, sign with the mso_mdoc format, record it.

The wallet-facing credential endpoint calls this once per proof; it never sees key material or claim values
beyond the mapped ones it passes to the format.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openissuer.claims import (
    MISSING,
    AuthenticatedSubject,
    ClaimMappings,
    ClaimsContext,
    apply_claim_mappings,
    parse_claim_path,
    resolve_claim_path,
)
from openissuer.claims.claim_type import ClaimTypeError
from openissuer.claims.temporal import coerce_date_time
from openissuer.crypto.base64url import encode_base64url
from openissuer.crypto.jwk import JwkError
from openissuer.domain.ids import new_id
from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.mdoc import MobileCredentialConfiguration
from openissuer.errors import (
    ClaimMappingError,
    CredentialRequestDeniedError,
    InvalidProofError,
    UnknownCredentialConfigurationError,
)
from openissuer.formats.base import HolderKey, IssuedCredential, RandomBytes, RequestedValidity
from openissuer.formats.mso_mdoc import MsoMdocFormat
from openissuer.ports.clock import Clock
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.document_signers import DocumentSignerService, SignerCandidates
from openissuer.services.mdoc_configurations import parse_mdoc_mappings, to_format_configuration

PROFILE = "mobile"


@dataclass(frozen=True)
class MdocIssuanceRequest:
    """Which mDoc for whom: the configuration and the claims known about the holder (keys come separately)."""

    tenant_id: str
    configuration_id: str
    claims: dict[str, Any]
    authentication_provider: AuthenticatedSubject | None = None
    user_id: str | None = None
    offer_id: str | None = None


@dataclass(frozen=True)
class MdocIssuance:
    """The signed credential and the record stored about it."""

    credential: IssuedCredential
    record: IssuedCredentialRecord


class MdocIssuanceService:
    """Sign mDocs for holders (reference platform §4.4 runtime algorithm, §8.5 contents)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        signers: DocumentSignerService,
        mdoc_format: MsoMdocFormat,
        random_bytes: RandomBytes = secrets.token_bytes,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._signers = signers
        self._format = mdoc_format
        self._random_bytes = random_bytes
        self._mappings: dict[tuple[str, datetime], ClaimMappings] = {}

    async def issue(self, request: MdocIssuanceRequest, holder_jwk: dict[str, Any]) -> MdocIssuance:
        """Issue one mDoc bound to the holder key and store its record."""
        configuration = await self.load_configuration(request.tenant_id, request.configuration_id)
        (issuance,) = await self.sign(configuration, request, holder_jwks=[holder_jwk])
        async with self._uow() as uow:
            await uow.issued_credentials.add(issuance.record)
            await uow.commit()
        return issuance

    async def load_configuration(self, tenant_id: str, configuration_id: str) -> MobileCredentialConfiguration:
        """Return the configuration, or raise ``unknown_credential_configuration``."""
        async with self._uow(read_only=True) as uow:
            configuration = await uow.mobile_configurations.get(tenant_id, configuration_id)
        if configuration is None:
            raise UnknownCredentialConfigurationError("Unknown credential configuration")
        return configuration

    async def sign(
        self,
        configuration: MobileCredentialConfiguration,
        request: MdocIssuanceRequest,
        *,
        holder_jwks: list[dict[str, Any]],
        signer_candidates: SignerCandidates | None = None,
    ) -> list[MdocIssuance]:
        """Sign one mDoc per holder key over the same claims (a batch); nothing is stored.

        Each credential gets its own salts and digest ids, so the batch's credentials are unlinkable by them.
        """
        try:
            holder_keys = [HolderKey(jwk) for jwk in holder_jwks]
        except JwkError as exc:
            raise InvalidProofError("The proof key must be a P-256 public JWK", detail=str(exc)) from exc
        mappings = self._parsed(configuration)
        context = ClaimsContext(
            request.claims,
            request.authentication_provider,
            {"id": configuration.id, "type": configuration.doctype},
        ).to_dict()
        values = _map(mappings, context)
        validity = RequestedValidity(
            valid_from=_mapped_time(configuration.valid_from_path, context, "validFrom"),
            valid_until=_mapped_time(configuration.valid_until_path, context, "validUntil"),
        )
        now = self._clock.now()
        format_config = to_format_configuration(configuration, mappings, now)
        valid_until = validity.valid_until or now + format_config.expires_in
        if signer_candidates is None:
            selected = await self._signers.select(configuration.tenant_id, valid_until)
        else:
            selected = await self._signers.choose(signer_candidates, valid_until)
        issued = []
        for holder_key in holder_keys:
            credential = self._format.issue(
                values,
                holder_key,
                format_config,
                selected.signer,
                now,
                random_bytes=self._random_bytes,
                validity=validity,
            )
            issued.append(MdocIssuance(credential, _record(request, configuration, credential, selected.record.id)))
        return issued

    def _parsed(self, configuration: MobileCredentialConfiguration) -> ClaimMappings:
        """Parse mappings once per configuration version (the hot path issues from few configurations)."""
        key = (configuration.id, configuration.updated_at)
        mappings = self._mappings.get(key)
        if mappings is None:
            if len(self._mappings) > 1024:
                self._mappings.clear()
            mappings = self._mappings[key] = parse_mdoc_mappings(configuration)
        return mappings


def _map(mappings: ClaimMappings, context: dict[str, Any]) -> dict[str, Any]:
    try:
        return apply_claim_mappings(mappings, context)
    except ClaimMappingError as exc:
        raise CredentialRequestDeniedError(exc.description, detail=exc.detail) from exc


def _mapped_time(path: str | None, context: dict[str, Any], field: str) -> datetime | None:
    if path is None:
        return None
    value = resolve_claim_path(parse_claim_path(path), context)
    if value is MISSING:
        return None
    try:
        return coerce_date_time(value)
    except ClaimTypeError as exc:
        raise CredentialRequestDeniedError(f"The {field} claim is not a date-time", detail=str(exc)) from exc


def _record(
    request: MdocIssuanceRequest,
    configuration: MobileCredentialConfiguration,
    credential: IssuedCredential,
    signer_id: str,
) -> IssuedCredentialRecord:
    return IssuedCredentialRecord(
        id=new_id(),
        tenant_id=request.tenant_id,
        configuration_id=configuration.id,
        profile=PROFILE,
        doctype=configuration.doctype,
        device_key=dict(credential.holder_jwk or {}),
        digests={
            namespace: {
                element: {"digestID": digest.digest_id, "digest": encode_base64url(digest.digest)}
                for element, digest in elements.items()
            }
            for namespace, elements in credential.digests.items()
        },
        mso_hash=credential.credential_hash,
        issued_at=credential.signed_at,
        valid_from=credential.valid_from,
        valid_until=credential.valid_until,
        user_id=request.user_id,
        offer_id=request.offer_id,
        signer_id=signer_id,
    )
