"""Audit events as services write them: the event of a change, with the request's id and the acting client.

Write the event in the unit of work (or wallet store statement) that makes the change:
``await uow.events.add(audit_event(CONFIGURATION_CREATED, tenant_id, now, {...}, client_id=principal.client_id))``.
Put ids and names in ``data``, never values; ``domain.events.sanitise_event_data`` drops what looks secret or
personal anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.configurations import CredentialConfiguration
from openissuer.domain.events import Event, EventKind, new_event
from openissuer.domain.ids import new_id
from openissuer.domain.pki import Iaca
from openissuer.services.request_context import current_request_id


def audit_event(
    kind: EventKind,
    tenant_id: str,
    now: datetime,
    data: Mapping[str, Any] | None = None,
    *,
    client_id: str | None = None,
) -> Event:
    """Return a new event of ``kind`` in the tenant, stamped with ``now`` and the current request's id."""
    return new_event(
        kind,
        id=new_id(),
        tenant_id=tenant_id,
        now=now,
        data=data,
        request_id=current_request_id(),
        client_id=client_id,
    )


def configuration_event(
    kind: EventKind, principal: ManagementPrincipal, configuration: CredentialConfiguration, now: datetime
) -> Event:
    """Return the event of a configuration change: its id, format and type, never its mappings' defaults."""
    data = {
        "configurationId": configuration.id,
        "format": configuration.format,
        "credentialType": configuration.credential_type,
    }
    return audit_event(kind, principal.tenant_id, now, data, client_id=principal.client_id)


def iaca_event(kind: EventKind, principal: ManagementPrincipal, iaca: Iaca, now: datetime) -> Event:
    """Return the event of an IACA change."""
    data = {"iacaId": iaca.id, "active": iaca.active, "fingerprint": iaca.fingerprint, "country": iaca.data.country}
    return audit_event(kind, principal.tenant_id, now, data, client_id=principal.client_id)


def management_event(
    kind: EventKind, principal: ManagementPrincipal, now: datetime, data: Mapping[str, Any] | None = None
) -> Event:
    """Return the event of a management change made by ``principal`` (its client id is recorded)."""
    return audit_event(kind, principal.tenant_id, now, data, client_id=principal.client_id)
