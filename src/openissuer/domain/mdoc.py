"""mDoc credential configurations (reference platform §4.2): the template an mDoc is issued from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openissuer.domain.durations import Duration

MDL_DOCTYPE = re.compile(r"^org\.iso\.18013\.5\.[1-9][0-9]*\.mDL$")
MDL_MAX_VALIDITY_DAYS = 427  # exclusive: "validity must be < 427 days"
MDOC_MAX_VALIDITY_DAYS = 3620  # inclusive


def is_mdl_doctype(doctype: str) -> bool:
    """Tell whether the docType names a mobile driving licence (``org.iso.18013.5.<n>.mDL``)."""
    return bool(MDL_DOCTYPE.match(doctype))


@dataclass(frozen=True)
class Branding:
    """How wallets display the credential (all optional)."""

    name: str | None = None
    description: str | None = None
    background_color: str | None = None
    watermark_image: str | None = None
    issuer_logo: str | None = None
    issuer_icon: str | None = None


@dataclass(frozen=True)
class MobileCredentialConfiguration:
    """One tenant's template for an mDoc: docType, claim mappings (as submitted), validity and branding.

    ``claim_mappings`` keeps the submitted JSON; it was validated by the claims engine on the way in and is parsed
    again where it is applied.
    """

    id: str
    tenant_id: str
    doctype: str
    claim_mappings: dict[str, Any]
    expires_in: Duration
    created_at: datetime
    updated_at: datetime
    valid_from_path: str | None = None
    valid_until_path: str | None = None
    claim_source_id: str | None = None
    include_status: bool = False
    branding: Branding | None = None
