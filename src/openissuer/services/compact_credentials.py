"""The direct APIs of compact credentials (reference platform §9.3): sign, verify, QR code.

``sign`` makes a CWT from a JSON payload with a key of the tenant's DID document (the ``iss`` is the tenant's
did:web), optionally revocable (an entry of a revocation list, from the same allocator as the issuance pipeline)
and recorded like an issued credential (its id is the ``jti``). ``verify`` checks, in this order: the text form
and structure, the issuer (``trustedIssuers``), the key (the tenant's own DID document, or a trusted issuer's
resolved over HTTP), the signature, the validity dates and the revocation status; a credential that fails is
``verified: false`` with the reason, never an error.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from openissuer.crypto.base64url import encode_base64url
from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.compact_credentials import (
    RESERVED_CLAIM_NAMES,
    CompactClaims,
    CompactCredential,
    CompactCredentialError,
    CompactStatus,
    VerificationFailure,
)
from openissuer.domain.dids import FAR_FUTURE, create_did_web
from openissuer.domain.issued import IssuedCredentialRecord, StatusReference
from openissuer.domain.status_lists import REVOKED, VALID, StatusAllocation
from openissuer.errors import ErrorDetail, ValidationError
from openissuer.formats.base import RandomBytes
from openissuer.ports.clock import Clock
from openissuer.ports.http import HttpFetcher, OutboundRequestError
from openissuer.ports.qr_codes import QrCodeError, QrCodes
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.access import ISSUERS, OPERATORS, READERS_AND_ISSUERS, authorize
from openissuer.services.compact_codec import CompactCredentialCodec
from openissuer.services.credential_status import add_initial_status
from openissuer.services.did_keys import DidKeyService
from openissuer.services.did_resolution import DidWebResolver
from openissuer.services.revocation_lists import RevocationListService
from openissuer.services.status_lists import StatusListAllocator
from openissuer.services.tenancy import TenantDirectory, WalletTenant

DIRECT_CONFIGURATION = "direct"
"""The ``configuration_id`` of records of credentials signed through ``/sign`` (no configuration)."""
TOKEN_ID_LENGTH = 16
MAX_TYPE_LENGTH = 1024
_TIMES = ("nbf", "exp", "iat")
_TEXTS = ("aud", "sub")
_LIST_NOT_FETCHED = "The revocation list could not be fetched"


@dataclass(frozen=True)
class SignInput:
    """A ``/sign`` request: the JSON payload, ``revocable`` and ``isRevoked`` (None: not given)."""

    payload: Mapping[str, Any]
    revocable: bool = False
    is_revoked: bool | None = None


@dataclass(frozen=True)
class SignedCompactCredential:
    """The ``/sign`` response: the credential's id (its ``jti``), its text form and its JSON view."""

    id: str
    encoded: str
    decoded: dict[str, object]


@dataclass(frozen=True)
class VerifyOptions:
    """What ``/verify`` checks beyond structure, issuer and signature (reference §9.3; all on by default)."""

    trusted_issuers: tuple[str, ...] | None = None
    assert_valid_from: bool = True
    assert_valid_until: bool = True
    check_revocation: bool = True


@dataclass(frozen=True)
class VerificationResult:
    """``verified``; the JSON view when the credential could be decoded; the reason when it did not verify."""

    verified: bool
    decoded: dict[str, object] | None = None
    failure: VerificationFailure | None = None
    message: str | None = None


class CompactCredentialService:
    """Sign, verify and draw compact credentials for the management API."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        tenants: TenantDirectory,
        did_keys: DidKeyService,
        allocator: StatusListAllocator,
        revocation_lists: RevocationListService,
        resolver: DidWebResolver,
        fetcher: HttpFetcher,
        codec: CompactCredentialCodec,
        qr_codes: QrCodes,
        *,
        random_bytes: RandomBytes = secrets.token_bytes,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._tenants = tenants
        self._did_keys = did_keys
        self._allocator = allocator
        self._lists = revocation_lists
        self._resolver = resolver
        self._fetcher = fetcher
        self._codec = codec
        self._qr = qr_codes
        self._random_bytes = random_bytes

    async def sign_as(self, principal: ManagementPrincipal, data: SignInput) -> SignedCompactCredential:
        """Sign a compact credential in the caller's tenant (admin, issuer, managed-issuer: reference §9.4); record
        it; allocate its revocation entry when ``revocable``."""
        authorize(principal, OPERATORS)
        tenant = await self._tenants.by_id(principal.tenant_id)
        did = create_did_web(tenant.issuer)
        claims = _parse_payload(data, did, self._random_bytes(TOKEN_ID_LENGTH))
        now = self._clock.now()
        valid_until = FAR_FUTURE if claims.expires_at is None else datetime.fromtimestamp(claims.expires_at, UTC)
        signer = await self._did_keys.current_signer(tenant.id, valid_until)
        allocation: StatusAllocation | None = None
        if data.revocable:
            (allocation,) = await self._allocator.allocate(tenant.id, self._lists.kind, 1)
            url = self._lists.kind.list_url(tenant.issuer, allocation.list_id)
            claims = _with_status(claims, CompactStatus(index=allocation.index, url=url))
        encoded = self._codec.sign_compact(claims, signer.signer)
        jti = encode_base64url(claims.token_id)
        record = IssuedCredentialRecord(
            id=jti,
            tenant_id=tenant.id,
            configuration_id=DIRECT_CONFIGURATION,
            format=self._codec.format_id,
            profile=self._codec.profile,
            credential_type=claims.credential_type or "",
            issued_at=now,
            valid_from=now if claims.not_before is None else datetime.fromtimestamp(claims.not_before, UTC),
            valid_until=valid_until,
            status=REVOKED if data.is_revoked else VALID,
            signer_id=signer.signer_id,
            status_reference=None if allocation is None else StatusReference(allocation.list_id, allocation.index),
            details={"jti": jti, "kid": signer.signer.kid.partition("#")[2], "claimNames": sorted(claims.custom)},
        )
        async with self._uow() as uow:
            await uow.issued_credentials.add(record)
            await add_initial_status(uow, record)
            await uow.commit()
        return SignedCompactCredential(id=jti, encoded=encoded, decoded=claims.to_json(jti))

    async def verify_as(
        self, principal: ManagementPrincipal, payload: str, options: VerifyOptions
    ) -> VerificationResult:
        """Verify a compact credential's text form for the caller's tenant."""
        authorize(principal, READERS_AND_ISSUERS)
        return await self.verify(await self._tenants.by_id(principal.tenant_id), payload, options)

    async def verify_file_as(
        self, principal: ManagementPrincipal, file: bytes, options: VerifyOptions
    ) -> VerificationResult:
        """Verify the compact credential in the QR code of an image or of a PDF's first page."""
        authorize(principal, READERS_AND_ISSUERS)
        try:
            texts = await asyncio.to_thread(self._qr.read, file)
        except QrCodeError as exc:
            raise _bad_file(str(exc)) from exc
        if not texts:
            raise _bad_file("No QR code was found in the file")
        return await self.verify(await self._tenants.by_id(principal.tenant_id), texts[0], options)

    async def qrcode_as(self, principal: ManagementPrincipal, payload: str, width: int) -> bytes:
        """Return the PNG QR code of a compact credential's text form."""
        authorize(principal, ISSUERS)
        try:
            self._codec.read_compact(payload)
        except CompactCredentialError as exc:
            raise ValidationError(
                "Validation Error", details=[ErrorDetail("body", "payload", f"is not a compact credential: {exc}")]
            ) from exc
        try:
            return await asyncio.to_thread(self._qr.render_png, payload, width)
        except QrCodeError as exc:
            raise ValidationError("Validation Error", details=[ErrorDetail("body", "width", str(exc), width)]) from exc

    async def verify(self, tenant: WalletTenant, payload: str, options: VerifyOptions) -> VerificationResult:
        """Check a credential for ``tenant``; every failure is a result, not an exception."""
        try:
            credential = self._codec.read_compact(payload)
        except CompactCredentialError as exc:
            return VerificationResult(False, None, exc.failure, exc.message)
        decoded = credential.to_json()
        try:
            await self._check(tenant, credential, options)
        except CompactCredentialError as exc:
            return VerificationResult(False, decoded, exc.failure, exc.message)
        return VerificationResult(True, decoded)

    async def _check(self, tenant: WalletTenant, credential: CompactCredential, options: VerifyOptions) -> None:
        claims = credential.claims
        own = claims.issuer == create_did_web(tenant.issuer)
        trusted = options.trusted_issuers
        if trusted is not None and claims.issuer not in trusted:
            raise _failure(VerificationFailure.ISSUER_NOT_TRUSTED, "The issuer is not in trustedIssuers")
        if not own and trusted is None:
            raise _failure(
                VerificationFailure.ISSUER_NOT_TRUSTED,
                "The issuer is not this tenant; list it in trustedIssuers to resolve its DID",
            )
        public_jwk = await self._own_key(tenant, credential.kid) if own else await self._resolve(claims, credential)
        self._codec.verify_compact(credential, public_jwk)
        now = int(self._clock.now().timestamp())
        if options.assert_valid_from and claims.not_before is not None and claims.not_before > now:
            raise _failure(VerificationFailure.NOT_ACTIVE, "The credential is not valid yet (nbf is in the future)")
        if options.assert_valid_until and claims.expires_at is not None and claims.expires_at <= now:
            raise _failure(VerificationFailure.EXPIRED, "The credential has expired (exp is in the past)")
        if options.check_revocation and claims.status is not None:
            await self._check_revocation(tenant, own, claims, now)

    async def _own_key(self, tenant: WalletTenant, kid: str) -> Mapping[str, object]:
        for key in await self._did_keys.published_keys(tenant.id):
            if key.kid == kid:
                return key.public_jwk
        raise _failure(VerificationFailure.ISSUER_PUBLIC_KEY_INVALID, "The issuer's DID document has no key " + kid)

    async def _resolve(self, claims: CompactClaims, credential: CompactCredential) -> Mapping[str, object]:
        return await self._resolver.resolve_key(claims.issuer, credential.kid)

    async def _check_revocation(self, tenant: WalletTenant, own: bool, claims: CompactClaims, now: int) -> None:
        assert claims.status is not None
        status = claims.status
        prefix = self._lists.kind.list_url(tenant.issuer, "")
        if status.url.startswith(prefix):
            revoked = await self._lists.is_revoked(tenant.id, status.url.removeprefix(prefix), status.index)
        elif own:
            revoked = None  # this tenant's credential pointing at a list that is not this tenant's
        else:
            revoked = await self._external_revocation(claims, status, now)
        if revoked is None:
            raise _failure(VerificationFailure.REVOCATION_STATUS_UNKNOWN, "The credential's revocation list is unknown")
        if revoked:
            raise _failure(VerificationFailure.REVOKED, "The credential has been revoked")

    async def _external_revocation(self, claims: CompactClaims, status: CompactStatus, now: int) -> bool:
        """Fetch a trusted issuer's list through the guarded fetcher and check it is signed by the issuer."""
        try:
            response = await self._fetcher.request("GET", status.url)
        except OutboundRequestError as exc:
            raise _failure(VerificationFailure.REVOCATION_STATUS_UNKNOWN, _LIST_NOT_FETCHED) from exc
        if response.status != 200:
            raise _failure(VerificationFailure.REVOCATION_STATUS_UNKNOWN, _LIST_NOT_FETCHED)
        document = self._codec.read_revocation_list(response.body)
        if document.issuer != claims.issuer or (document.expires_at and document.expires_at <= now):
            raise _failure(VerificationFailure.REVOCATION_STATUS_UNKNOWN, "The revocation list is not usable")
        self._codec.verify_revocation_list(document, await self._resolver.resolve_key(claims.issuer, document.kid))
        return document.is_revoked(status.index)


def _parse_payload(data: SignInput, did: str, token_id: bytes) -> CompactClaims:
    """Check a ``/sign`` payload (reference §9.3) and return its claims; one ValidationError lists every problem."""
    payload = data.payload
    details: list[ErrorDetail] = []

    def problem(param: str, msg: str, value: object = None) -> None:
        details.append(ErrorDetail("body", param, msg, value))

    issuer = payload.get("iss", did)
    if issuer != did:
        problem("payload.iss", f"must be this tenant's DID {did}", issuer)
    times: dict[str, int | None] = {}
    for name in _TIMES:
        value = payload.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            problem(f"payload.{name}", "must be seconds since the epoch (a non-negative integer)", value)
            value = None
        times[name] = value
    texts: dict[str, str | None] = {}
    for name in (*_TEXTS, "type"):
        value = payload.get(name)
        if value is not None and (not isinstance(value, str) or not value or len(value) > MAX_TYPE_LENGTH):
            problem(f"payload.{name}", f"must be a string of 1-{MAX_TYPE_LENGTH} characters", value)
            value = None
        texts[name] = value
    if times["nbf"] is not None and times["exp"] is not None and times["exp"] <= times["nbf"]:
        problem("payload.exp", "must be after nbf", times["exp"])
    custom: dict[str, Any] = {}
    for name, value in payload.items():
        if name in RESERVED_CLAIM_NAMES:
            if name in ("jti", "cti", "status"):
                problem(f"payload.{name}", "is set by the issuer", value)
            continue
        message = _custom_problem(value)
        if not name:
            problem("payload", "claim names must not be empty")
        elif message is not None:
            problem(f"payload.{name}", message, value)
        else:
            custom[name] = value
    if data.is_revoked is not None and not data.revocable:
        problem("isRevoked", "needs revocable: true", data.is_revoked)
    if details:
        raise ValidationError("Validation Error", details=details)
    return CompactClaims(
        issuer=did,
        token_id=token_id,
        credential_type=texts["type"],
        issued_at=times["iat"],
        not_before=times["nbf"],
        expires_at=times["exp"],
        subject=texts["sub"],
        audience=texts["aud"],
        custom=custom,
    )


def _custom_problem(value: object) -> str | None:
    if isinstance(value, bool | str | int):
        return None
    if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
        return None
    return "must be a string, a number or a boolean"


def _with_status(claims: CompactClaims, status: CompactStatus) -> CompactClaims:
    return replace(claims, status=status)


def _failure(failure: VerificationFailure, message: str) -> CompactCredentialError:
    return CompactCredentialError(failure, message)


def _bad_file(message: str) -> ValidationError:
    return ValidationError("Validation Error", details=[ErrorDetail("body", "file", message)])


__all__: Sequence[str] = [
    "CompactCredentialService",
    "SignInput",
    "SignedCompactCredential",
    "VerificationResult",
    "VerifyOptions",
]
