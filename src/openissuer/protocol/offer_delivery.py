"""Where an offer URI points: the wallet's Credential Offer Endpoint (OID4VCI 1.0 §4.1, reference §11.1).

"The Credential Issuer MAY render a QR code containing the Credential Offer" at the wallet's
``credential_offer_endpoint``; without one it uses the custom scheme ``openid-credential-offer://``. Reference
§11.1 lists the ways to target one wallet, weakest to strongest: the generic scheme, a wallet's private-use scheme
(``com.example.wallet://``), a claimed https link (``https://wallet.example.com/offer``). The offer parameters are
appended as the query: ``<endpoint>?credential_offer=…``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

DEFAULT_CREDENTIAL_OFFER_ENDPOINT = "openid-credential-offer://"
MAX_ENDPOINT_LENGTH = 512
# RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# Schemes a browser or an operating system runs or reads locally instead of handing to a wallet app.
_REFUSED_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "blob", "about", "filesystem", "http", "ftp"})


def verify_credential_offer_endpoint(endpoint: str) -> str | None:
    """Return why ``endpoint`` cannot be a wallet's Credential Offer Endpoint, or None when it can.

    Accepted: ``<scheme>://`` with an optional host and path (a custom scheme), or ``https://<host>[/path]``; never
    a query or fragment (the offer is the query), credentials in the authority, whitespace, or a scheme that runs
    locally (``javascript:``, ``data:``, ``file:``…) or is not private (``http:``).
    """
    if not endpoint or len(endpoint) > MAX_ENDPOINT_LENGTH or any(c.isspace() or ord(c) < 0x20 for c in endpoint):
        return f"must be 1-{MAX_ENDPOINT_LENGTH} characters without whitespace"
    scheme, separator, _rest = endpoint.partition("://")
    if not separator or not _SCHEME.fullmatch(scheme):
        return "must start with a scheme and '://', e.g. openid-credential-offer:// or https://"
    if scheme.lower() in _REFUSED_SCHEMES:
        return f"the {scheme.lower()} scheme cannot deliver an offer to a wallet"
    try:
        parts = urlsplit(endpoint)
    except ValueError:
        return "is not a URI"
    if parts.query or parts.fragment or "?" in endpoint or "#" in endpoint:
        return "must not have a query or fragment (the offer is the query)"
    if "@" in parts.netloc:
        return "must not carry credentials"
    if scheme.lower() == "https" and not parts.hostname:
        return "an https endpoint needs a host"
    return None


def create_offer_uri(endpoint: str | None, parameter: str, value: str) -> str:
    """Return ``<endpoint>?<parameter>=<value>`` (``value`` already URL-encoded)."""
    return f"{endpoint or DEFAULT_CREDENTIAL_OFFER_ENDPOINT}?{parameter}={value}"
