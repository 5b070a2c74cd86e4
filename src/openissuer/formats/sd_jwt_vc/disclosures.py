"""Selective disclosure (RFC 9901 §4.2): turn an unsecured payload into the issuer-signed payload and its
Disclosures, given which positions are selectively disclosable.

- An object property that is disclosable becomes a Disclosure ``[salt, name, value]`` whose digest goes into the
  object's ``_sd`` array; an array element becomes ``[salt, value]`` and its place ``{"...": digest}`` (§4.2.1-4).
- Inner positions are processed first, so a disclosable object whose members are disclosable too gives a
  Disclosure whose value carries their digests (recursive disclosures, §4.2.6).
- Every Disclosure has its own 128-bit salt (§4.2.1: "at least 128 bits", from a CSPRNG) drawn for this credential
  only, so no two credentials share a salt or a digest.
- ``_sd`` arrays are sorted (§4.2.4.1: "hide the original order"); each gets 0 to ``max_decoys`` decoy digests,
  the count drawn per object (§4.2.5: digests over random values, indistinguishable from real ones), and only
  where the object has a real one (an SD-JWT VC without disclosable claims has no ``_sd``).
- Digests are SHA-256 over the ASCII of the Disclosure (``_sd_alg: sha-256``, §4.1.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from openissuer.crypto.base64url import encode_base64url
from openissuer.formats.base import RandomBytes

SD_ALG = "sha-256"
SD = "_sd"
ARRAY_DIGEST = "..."
SALT_BYTES = 16

Position = tuple[str | int, ...]
IsDisclosable = Callable[[Position], bool]


@dataclass
class ConcealedClaims:
    """The payload with digests in place of disclosable claims, the Disclosures (in the order they were made),
    their digests and how many decoys were added."""

    payload: dict[str, Any]
    disclosures: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    decoys: int = 0


def conceal_claims(
    claims: Mapping[str, Any], is_disclosable: IsDisclosable, random_bytes: RandomBytes, *, max_decoys: int = 0
) -> ConcealedClaims:
    """Return ``claims`` (JSON values only) with every position ``is_disclosable`` says as a Disclosure."""
    result = ConcealedClaims(payload={})
    concealer = _Concealer(is_disclosable, random_bytes, max_decoys, result)
    result.payload = concealer.object(claims, ())
    return result


def compute_digest(disclosure: str) -> str:
    """Return the base64url SHA-256 digest of a Disclosure (RFC 9901 §4.2.3)."""
    return encode_base64url(hashlib.sha256(disclosure.encode("ascii")).digest())


class _Concealer:
    def __init__(
        self, is_disclosable: IsDisclosable, random_bytes: RandomBytes, max_decoys: int, result: ConcealedClaims
    ) -> None:
        self._is_disclosable = is_disclosable
        self._random_bytes = random_bytes
        self._max_decoys = max_decoys
        self._result = result

    def value(self, value: Any, position: Position) -> Any:
        if isinstance(value, Mapping):
            return self.object(value, position)
        if isinstance(value, list):
            return [self.element(item, (*position, index)) for index, item in enumerate(value)]
        return value

    def object(self, claims: Mapping[str, Any], position: Position) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        digests: list[str] = []
        for name, child in claims.items():
            inner = self.value(child, (*position, name))
            if self._is_disclosable((*position, name)):
                digests.append(self._disclose([self._salt(), name, inner]))
            else:
                shown[name] = inner
        if digests:
            digests += self._decoys()
            shown[SD] = sorted(digests)
        return shown

    def element(self, item: Any, position: Position) -> Any:
        inner = self.value(item, position)
        if self._is_disclosable(position):
            return {ARRAY_DIGEST: self._disclose([self._salt(), inner])}
        return inner

    def _disclose(self, content: list[Any]) -> str:
        disclosure = encode_base64url(orjson.dumps(content))
        digest = compute_digest(disclosure)
        self._result.disclosures.append(disclosure)
        self._result.digests.append(digest)
        return digest

    def _salt(self) -> str:
        return encode_base64url(self._random_bytes(SALT_BYTES))

    def _decoys(self) -> list[str]:
        if self._max_decoys <= 0:
            return []
        count = int.from_bytes(self._random_bytes(2), "big") % (self._max_decoys + 1)
        self._result.decoys += count
        return [encode_base64url(hashlib.sha256(self._random_bytes(SALT_BYTES)).digest()) for _ in range(count)]
