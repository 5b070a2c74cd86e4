"""Status lists: lists of credential statuses, one entry per credential, shared by many credentials so that a
verifier's fetch does not tell the issuer which credential it checks (reference platform §10).

A list has a ``kind`` (which mechanism and wire format it serves: the CWT revocation lists, IETF Token Status Lists
of mDocs or of SD-JWT VCs) and a fixed ``size``. Indexes are handed out in a keyed pseudorandom order
(``crypto/index_permutation.py``): the ``n``-th credential put on a list gets index ``permutation(n)``, every index
once, so neighbouring credentials get unrelated indexes and the next index cannot be guessed from the previous ones.
A full list is followed by a new one. A kind whose lists are ``partitioned`` keeps separate lists per credential
type (their configuration sets the tokens' lifetimes) and per signing authority (the IACA whose certificate signs
the list must be the one that certified the credentials' signer, ISO/IEC 18013-5 2nd edition).

The status of each entry lives in the list's entries (``StatusEntry``), apart from the credentials' records, so a
deleted record (reference §10.3) leaves the list as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

VALID = "valid"
INVALID = "invalid"
SUSPENDED = "suspended"
REVOKED = "revoked"
STATUS_VALUES = {VALID: 0x00, INVALID: 0x01, SUSPENDED: 0x02, REVOKED: 0x01}
"""The value of each status in a list (draft-ietf-oauth-status-list §7.1: 0x00 VALID, 0x01 INVALID, 0x02
SUSPENDED); a CWT revocation list's ``revoked`` is its bit 1."""


@dataclass(frozen=True)
class StatusListKind:
    """A kind of status list: its name, how many entries each list has and where its lists are published
    (``public_path`` + list id + ``public_suffix``, relative to the credential issuer identifier).

    ``media_type`` is the media type of the kind's IETF Status List Token (``application/statuslist+cwt`` or
    ``application/statuslist+jwt``), None for a list of another wire format; ``partitioned`` keeps lists per
    credential type and signing authority (see the module); ``type_field`` is the wire name of the credential type
    in the kind's status list configurations (``docType``, ``vct``)."""

    name: str
    size: int
    public_path: str
    public_suffix: str = ""
    media_type: str | None = None
    partitioned: bool = False
    type_field: str = "type"

    def list_url(self, issuer: str, list_id: str) -> str:
        """Return the public URL of one list of this kind at the credential issuer ``issuer``."""
        return f"{issuer.rstrip('/')}{self.public_path}{list_id}{self.public_suffix}"


@dataclass(frozen=True)
class StatusListScope:
    """Which lists of a kind a credential goes on: its credential type and the authority (IACA) that certified
    its signer; both empty for a kind that is not partitioned."""

    credential_type: str = ""
    authority_id: str = ""


UNSCOPED = StatusListScope()
"""The scope of every list of a kind that is not partitioned."""


@dataclass(frozen=True)
class StatusList:
    """One list: ``allocated`` positions of ``size`` handed out (reserved: some may stay unused); ``revision``
    rises with every status change."""

    id: str
    tenant_id: str
    kind: str
    sequence: int
    size: int
    allocated: int
    revision: int
    permutation_key: bytes
    created_at: datetime
    credential_type: str = ""
    authority_id: str = ""

    @property
    def scope(self) -> StatusListScope:
        """The credential type and authority the list serves."""
        return StatusListScope(self.credential_type, self.authority_id)


@dataclass(frozen=True)
class StatusListHead:
    """What serving a list's token needs to read on every request: the list's kind, scope and revision, and its
    tenant's configuration version (raised by a change to an IACA or a signer, which may leave the list unsignable)."""

    id: str
    kind: str
    size: int
    revision: int
    credential_type: str = ""
    authority_id: str = ""
    config_version: int = 0


@dataclass(frozen=True)
class StatusListReservation:
    """Positions ``[first, first + count)`` of one list, taken by one statement; their indexes come from the
    list's permutation."""

    list_id: str
    size: int
    first: int
    count: int
    permutation_key: bytes


@dataclass(frozen=True)
class StatusAllocation:
    """One credential's entry: the list and the index in it."""

    list_id: str
    index: int
