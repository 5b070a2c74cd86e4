"""The id of the request being served, for the audit events it causes (set by the web layer's middleware)."""

from __future__ import annotations

from contextvars import ContextVar, Token

_request_id: ContextVar[str | None] = ContextVar("openissuer_request_id", default=None)


def bind_request_id(request_id: str | None) -> Token[str | None]:
    """Make ``request_id`` the current request's id (for this task and what it awaits)."""
    return _request_id.set(request_id)


def current_request_id() -> str | None:
    """Return the current request's id, or None outside a request (background work)."""
    return _request_id.get()
