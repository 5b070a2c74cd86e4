"""Status lists: lists of credential statuses, one entry per credential, shared by many credentials so that a
verifier's fetch does not tell the issuer which credential it checks (reference platform §10).

A list has a ``kind`` (which mechanism and wire format it serves, e.g. the CWT revocation lists) and a fixed
``size``. Indexes are handed out in a keyed pseudorandom order (``crypto/index_permutation.py``): the ``n``-th
credential put on a list gets index ``permutation(n)``, every index once, so neighbouring credentials get unrelated
indexes and the next index cannot be guessed from the previous ones. A full list is followed by a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StatusListKind:
    """A kind of status list: its name, how many entries each list has and where its lists are published
    (``public_path`` + list id, relative to the credential issuer identifier)."""

    name: str
    size: int
    public_path: str

    def list_url(self, issuer: str, list_id: str) -> str:
        """Return the public URL of one list of this kind at the credential issuer ``issuer``."""
        return f"{issuer.rstrip('/')}{self.public_path}{list_id}"


@dataclass(frozen=True)
class StatusList:
    """One list: ``allocated`` entries of ``size`` handed out; ``revision`` rises with every status change."""

    id: str
    tenant_id: str
    kind: str
    sequence: int
    size: int
    allocated: int
    revision: int
    permutation_key: bytes
    created_at: datetime


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
