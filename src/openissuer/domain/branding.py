"""How wallets display a credential: the reference platform's ``branding`` (§4.2), one model for every format.

Formats turn it into OID4VCI ``credential_metadata.display`` (§12.2.4); it is validated once, by
``formats.credential_metadata.find_branding_problems``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Branding:
    """Display of a credential; every field optional (reference §4.2 ``branding``)."""

    name: str | None = None
    description: str | None = None
    background_color: str | None = None
    watermark_image: str | None = None
    issuer_logo: str | None = None
    issuer_icon: str | None = None
