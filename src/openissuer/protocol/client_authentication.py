"""OAuth 2.0 client authentication at a token endpoint (RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus


def create_basic_authorization(client_id: str, secret: str) -> str:
    """Return the ``Authorization`` value of ``client_secret_basic``: "The client identifier is encoded using the
    application/x-www-form-urlencoded encoding algorithm", so is the secret, then base64 of ``id:secret``."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()
