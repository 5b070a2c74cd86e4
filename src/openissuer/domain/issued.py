"""Records of issued credentials: what was issued to whom, without any claim value (reference platform §5.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StatusReference:
    """Where an issued credential's status lives: a status list (by id) and the credential's index in it."""

    list_id: str
    index: int


@dataclass(frozen=True)
class IssuedCredentialRecord:
    """Metadata of one issued credential, the same for every format; never a claim value.

    ``profile`` is the reference platform's name of the format (``mobile``, ``compact``, ...); ``details`` is the
    format's own part of the record as plain JSON data (for an mDoc: ``docType``, ``devicePublicKey``,
    ``namespaces`` with each element's digest, ``msoHash``). ``holder_key_thumbprint`` is the RFC 7638 thumbprint
    of the key the credential is bound to (None for bearer credentials); ``signer_id`` the key that signed it.
    ``status`` is ``valid``, ``invalid`` or ``suspended`` (IETF Token Status Lists: mDocs, SD-JWT VCs) or, for a
    CWT, ``valid`` or ``revoked``; ``status_reference`` its status-list entry. ``session_id`` identifies the
    issuance session (the access grant) that obtained it: every credential of one grant has the same. A CWT's
    record has the CWT's ``jti`` as its id, and ``configuration_id`` ``direct`` when it was made by the sign API.
    """

    id: str
    tenant_id: str
    configuration_id: str
    format: str
    profile: str
    credential_type: str
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    status: str = "valid"
    user_id: str | None = None
    offer_id: str | None = None
    signer_id: str | None = None
    holder_key_thumbprint: str | None = None
    status_reference: StatusReference | None = None
    details: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
