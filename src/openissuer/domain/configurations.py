"""Credential configurations (reference platform §4): the per-tenant template a credential of any format is
issued from. The format-neutral fields are typed here; what only one format has (e.g. a CWT's PDF template) is in
``options`` under its wire name, checked by that format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openissuer.domain.branding import Branding
from openissuer.domain.durations import Duration


@dataclass(frozen=True)
class CredentialConfiguration:
    """One tenant's template for credentials of one format and type.

    ``format`` is the OID4VCI format identifier (``mso_mdoc``, ``cwt``, ``dc+sd-jwt``); ``credential_type`` is
    what that format calls the type (an mDoc ``docType``, a CWT ``type``, an SD-JWT ``vct``), unique per tenant
    and format. ``claim_mappings`` keeps the submitted JSON; it was validated on the way in and is parsed again
    where it is applied. ``expires_in`` is the validity relative to issuance (None: the format's default).
    """

    id: str
    tenant_id: str
    format: str
    credential_type: str
    claim_mappings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_in: Duration | None = None
    valid_from_path: str | None = None
    valid_until_path: str | None = None
    claim_source_id: str | None = None
    include_status: bool = False
    branding: Branding | None = None
    options: dict[str, Any] = field(default_factory=dict)
