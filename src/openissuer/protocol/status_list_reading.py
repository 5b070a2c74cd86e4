"""Reading IETF Token Status Lists (draft-ietf-oauth-status-list-14) that others publish: the ``status`` claim of a
token that references one (a wallet attestation, a key attestation), and a Status List Token in its JWT form.

- §6.1: a referenced token's ``status`` claim holds ``status_list: {idx, uri}``; other mechanisms may sit beside it.
- §5.1: the token's header ``typ`` is ``statuslist+jwt``; its claims ``sub`` (equal to the reference's ``uri``),
  ``iat``, optional ``exp`` and ``ttl``, and ``status_list: {bits, lst}`` with ``lst`` the base64url of the
  ZLIB-compressed byte array; §4.1: entries of ``bits`` bits packed from each byte's least significant bit.
- §7.1: 0 VALID, 1 INVALID, 2 SUSPENDED; any other value is application-specific, and not valid here.

The token's signer is checked like the attestations it serves (HAIP): an ES256 signature by the leaf of an ``x5c``
chain issued up to one of the trust anchors the caller gives. Pure: anchors and time are arguments.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from openissuer.crypto.base64url import decode_base64url
from openissuer.crypto.jws import JwsError, parse_compact_jws, verify_es256_jws
from openissuer.crypto.x5c_chain import X5cChainError, verify_x5c_chain
from openissuer.protocol.token_status_list import BITS, JWT_TYP

VALID = 0
STATUS_NAMES = {0: "valid", 1: "invalid", 2: "suspended"}
MAX_URI_LENGTH = 2048
MAX_SECONDS = 10**10
"""Times and ``ttl`` beyond this (the year 2286) are read as this: any larger number is as good as for ever."""
MAX_TOKEN_LENGTH = 1_000_000
"""The outbound client's response cap: a list of a million 1-bit entries, compressed, is far smaller."""
MAX_LIST_BYTES = 16 * 1024 * 1024
"""The largest uncompressed byte array read (134 million 1-bit entries): a small token cannot inflate past it."""


class StatusListReadError(ValueError):
    """A ``status`` claim or a Status List Token that cannot be used; the message says why (never the token)."""


@dataclass(frozen=True)
class StatusReference:
    """Where a token's status is: entry ``index`` of the list published at ``uri``."""

    uri: str
    index: int


@dataclass(frozen=True)
class StatusListSnapshot:
    """A verified Status List Token: its entries, and until when it may be used."""

    uri: str
    bits: int
    entries: bytes
    expires_at: datetime | None
    time_to_live: int | None

    def status_at(self, index: int) -> int:
        """Return entry ``index``; StatusListReadError when the list has no such entry."""
        per_byte = 8 // self.bits
        position = index // per_byte
        if position >= len(self.entries):
            raise StatusListReadError(f"the status list has no entry {index}")
        return (self.entries[position] >> (index % per_byte) * self.bits) & ((1 << self.bits) - 1)

    def usable_until(self, now: datetime, default_ttl: timedelta, max_ttl: timedelta) -> datetime:
        """How long a consumer keeps this token: its ``ttl`` (``default_ttl`` without one) capped at ``max_ttl``
        and at its ``exp``."""
        ttl = default_ttl if self.time_to_live is None else timedelta(seconds=min(self.time_to_live, MAX_SECONDS))
        until = now + min(ttl, max_ttl)
        return until if self.expires_at is None else min(until, self.expires_at)


def read_status_reference(claims: Mapping[str, Any]) -> StatusReference | None:
    """Return the ``status.status_list`` reference of a token's claims; None without one (no ``status``, or only
    mechanisms other than a status list); StatusListReadError when it is malformed."""
    status = claims.get("status")
    if status is None:
        return None
    if not isinstance(status, dict):
        raise StatusListReadError("status must be an object")
    reference = status.get("status_list")
    if reference is None:
        return None
    if not isinstance(reference, dict):
        raise StatusListReadError("status.status_list must be an object")
    index, uri = reference.get("idx"), reference.get("uri")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise StatusListReadError("status.status_list.idx must be a non-negative integer")
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_LENGTH:
        raise StatusListReadError(f"status.status_list.uri must be a URI of 1-{MAX_URI_LENGTH} characters")
    return StatusReference(uri, index)


def verify_status_list_jwt(token: str, *, uri: str, anchors: Sequence[bytes], now: datetime) -> StatusListSnapshot:
    """Verify a Status List Token in JWT form published at ``uri``; return its entries."""
    try:
        jws = parse_compact_jws(token, max_payload=MAX_TOKEN_LENGTH)
    except JwsError as exc:
        raise StatusListReadError(f"the status list token is not a valid JWT: {exc}") from exc
    if jws.header.get("typ") != JWT_TYP:
        raise StatusListReadError(f"the status list token's typ must be {JWT_TYP}")
    if jws.header.get("alg") != "ES256":
        raise StatusListReadError("the status list token's alg must be ES256")
    if "crit" in jws.header:
        raise StatusListReadError("the status list token must not contain crit")
    try:
        signer = verify_x5c_chain(jws.header.get("x5c"), anchors, now)
        verify_es256_jws(jws, signer)
    except X5cChainError as exc:
        raise StatusListReadError(f"the status list token is not from a trusted signer: {exc}") from exc
    except JwsError as exc:
        raise StatusListReadError("the status list token's signature does not verify") from exc
    claims = jws.payload
    if claims.get("sub") != uri:
        raise StatusListReadError("the status list token's sub is not the URI it was fetched from")
    _number(claims, "iat", required=True)
    expires = _number(claims, "exp", required=False)
    if expires is not None and expires <= now.timestamp():
        raise StatusListReadError("the status list token has expired")
    if expires is not None:
        expires = min(expires, float(MAX_SECONDS))
    ttl = _number(claims, "ttl", required=False)
    if ttl is not None and ttl < 0:
        raise StatusListReadError("the status list token's ttl must not be negative")
    bits, entries = _entries(claims.get("status_list"))
    return StatusListSnapshot(
        uri=uri,
        bits=bits,
        entries=entries,
        expires_at=None if expires is None else datetime.fromtimestamp(expires, tz=now.tzinfo),
        time_to_live=None if ttl is None else int(ttl),
    )


def _number(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatusListReadError(f"the status list token's {name} must be a number")
    return float(value)


def _entries(value: object) -> tuple[int, bytes]:
    if not isinstance(value, dict):
        raise StatusListReadError("the status list token needs status_list {bits, lst}")
    bits, lst = value.get("bits"), value.get("lst")
    if isinstance(bits, bool) or bits not in BITS:
        raise StatusListReadError("status_list.bits must be 1, 2, 4 or 8")
    if not isinstance(lst, str):
        raise StatusListReadError("status_list.lst must be a base64url string")
    try:
        compressed = decode_base64url(lst)
    except ValueError as exc:
        raise StatusListReadError("status_list.lst is not base64url") from exc
    inflater = zlib.decompressobj()
    try:
        entries = inflater.decompress(compressed, MAX_LIST_BYTES)
    except zlib.error as exc:
        raise StatusListReadError("status_list.lst is not ZLIB data") from exc
    if inflater.unconsumed_tail:
        raise StatusListReadError(f"status_list.lst inflates past {MAX_LIST_BYTES} bytes")
    if not inflater.eof:
        raise StatusListReadError("status_list.lst is truncated")
    return int(bits), entries
