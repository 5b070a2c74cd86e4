"""The status-list allocation port: reserve list positions for new credentials in one statement (the hot path).

Positions are taken from a counter per list, in one conditional statement, so any number of processes on one
database never hand out a position twice; the index of a position comes from the list's permutation (see
``domain/status_lists.py``). When the newest list of a tenant and kind cannot take ``count`` more, the same call
starts the next list (``sequence`` + 1, unique per tenant and kind, so two processes that both find the list full
start one list between them) and reserves its first positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from openissuer.domain.status_lists import StatusListReservation


@dataclass(frozen=True)
class NewStatusList:
    """The id and permutation key a list gets if this reservation has to start one."""

    id: str
    permutation_key: bytes
    created_at: datetime


class StatusListStore(Protocol):
    """Reserve positions on the newest list of a tenant and kind, starting a new list when it is full."""

    async def reserve(
        self, tenant_id: str, kind: str, size: int, count: int, candidate: NewStatusList
    ) -> StatusListReservation:
        """Reserve ``count`` consecutive positions (``1 <= count <= size``) of one list of ``size`` entries."""
        ...
