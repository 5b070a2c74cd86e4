"""Cursor pagination at the edge (reference platform §1.3): ``limit`` 1–1000, opaque ``cursor``, ``nextCursor``.

A cursor is base64url of ``createdAt=<ISO time>&id=<id>``, the keyset of the last row of the previous page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import Query

from openissuer.crypto.base64url import decode_base64url, encode_base64url
from openissuer.domain.pages import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Page, PageKey
from openissuer.errors import ErrorDetail, ValidationError


def encode_cursor(key: PageKey) -> str:
    """Return the opaque cursor for a page key."""
    raw = urlencode({"createdAt": key.created_at.isoformat(), "id": key.id})
    return encode_base64url(raw.encode())


def decode_cursor(cursor: str) -> PageKey:
    """Return the page key of a cursor; raise ValidationError naming ``cursor`` when it is not one of ours."""
    try:
        raw = decode_base64url(cursor).decode()
        fields = parse_qs(raw, strict_parsing=True)
        created_at = datetime.fromisoformat(fields["createdAt"][0])
        if created_at.tzinfo is None:
            raise ValueError("naive time")
        key_id = fields["id"][0]
        if "\x00" in key_id or len(key_id) > 64:
            raise ValueError("not an id")
        # In UTC, as stored; a time at the edge of the calendar overflows here (OverflowError), not in the database.
        return PageKey(created_at=created_at.astimezone(UTC), id=key_id)
    except (ValueError, KeyError, UnicodeDecodeError, OverflowError) as exc:
        raise ValidationError(
            "Validation Error", details=[ErrorDetail("query", "cursor", "is not a valid cursor", cursor)]
        ) from exc


class PageParams:
    """The ``limit`` and ``cursor`` query parameters, validated."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT, description="Page size, 1–1000.")] = DEFAULT_PAGE_LIMIT,
        cursor: Annotated[str | None, Query(description="`nextCursor` of the previous page.")] = None,
    ) -> None:
        self.limit = limit
        self.after = decode_cursor(cursor) if cursor else None


def render_page(page: Page[Any], items: list[Any]) -> dict[str, Any]:
    """Return ``{data, nextCursor?}``; the last page has no ``nextCursor``."""
    body: dict[str, Any] = {"data": items}
    if page.next_key is not None:
        body["nextCursor"] = encode_cursor(page.next_key)
    return body
