"""Keyset pagination values shared by every list operation (reference platform §1.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000


@dataclass(frozen=True)
class PageKey:
    """The position after which the next page starts: the last row's ``(created_at, id)``."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the key of its last row when more may follow."""

    items: list[T]
    next_key: PageKey | None
