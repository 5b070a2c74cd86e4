"""A tenant's own defaults for what the reference platform derives from where it runs (its region, its wallet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TenantSettings:
    """``default_country``: the IACA ``country`` when a create request gives none (the reference derives it from
    the tenant's region, §8.2). ``credential_offer_endpoint``: where offer URIs point (OID4VCI §4.1: the wallet's
    ``credential_offer_endpoint``; reference §11.1: the generic scheme, a wallet's private scheme or a claimed
    https link); None means ``openid-credential-offer://``."""

    tenant_id: str
    default_country: str | None = None
    credential_offer_endpoint: str | None = None
    updated_at: datetime | None = None
