"""Identifiers: random UUIDs as strings, and the fixed id of the default tenant."""

from __future__ import annotations

import uuid

DEFAULT_TENANT_ID = "00000000-0000-4000-8000-000000000000"


def new_id() -> str:
    """Return a new random (version 4) UUID as a string."""
    return str(uuid.uuid4())
