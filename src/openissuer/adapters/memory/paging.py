"""Keyset pagination over in-memory rows, matching the SQL adapter's ``(created_at, id)`` order."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from openissuer.domain.pages import Page, PageKey

T = TypeVar("T")


def page_of(
    rows: Iterable[T], key: Callable[[T], tuple[datetime, str]], *, limit: int, after: PageKey | None
) -> Page[T]:
    """Sort ``rows`` by ``key``, start after ``after`` and cut at ``limit``."""
    ordered = sorted(rows, key=key)
    if after is not None:
        ordered = [row for row in ordered if key(row) > (after.created_at, after.id)]
    if len(ordered) <= limit:
        return Page(items=ordered, next_key=None)
    kept = ordered[:limit]
    created_at, id = key(kept[-1])
    return Page(items=kept, next_key=PageKey(created_at=created_at, id=id))
