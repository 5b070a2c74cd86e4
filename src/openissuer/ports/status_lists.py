"""The status-list allocation port: reserve list positions for new credentials in one statement, and read a list's
head (kind, scope, revision) in one statement to serve its token.

Positions are taken from a counter per list, in one conditional statement, so any number of processes on one
database never hand out a position twice; the index of a position comes from the list's permutation (see
``domain/status_lists.py``). A reservation takes at least ``count`` and, when the list has room, up to ``up_to``
positions (a block the caller hands out from memory; see ``services/status_lists.py``); the last block of a list
takes whatever is left. When the newest list of a tenant, kind and scope cannot take ``count`` more, the same call
starts the next list (``sequence`` + 1, unique per tenant, kind and scope, so two processes that both find the list
full start one list between them) and reserves its first positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from openissuer.domain.status_lists import UNSCOPED, StatusListHead, StatusListReservation, StatusListScope


@dataclass(frozen=True)
class NewStatusList:
    """The id and permutation key a list gets if this reservation has to start one."""

    id: str
    permutation_key: bytes
    created_at: datetime


class StatusListStore(Protocol):
    """Reserve positions on the newest list of a tenant, kind and scope, starting a new list when it is full."""

    async def reserve(
        self,
        tenant_id: str,
        kind: str,
        size: int,
        count: int,
        candidate: NewStatusList,
        *,
        scope: StatusListScope = UNSCOPED,
        up_to: int | None = None,
    ) -> StatusListReservation:
        """Reserve at least ``count`` (``1 <= count <= size``) and at most ``max(count, up_to)`` consecutive
        positions of one list of ``size`` entries; ``reservation.count`` says how many were taken."""
        ...

    async def head(self, tenant_id: str, list_id: str) -> StatusListHead | None:
        """Return the tenant's list's kind, scope and revision (None: no such list)."""
        ...
