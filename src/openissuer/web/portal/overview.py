"""The overview: recent issuance from the event log and the health of the IACAs and signers."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from openissuer.domain.events import CREDENTIAL_ISSUED, CREDENTIAL_REFUSED, OFFER_REDEEMED, EventQuery
from openissuer.errors import ForbiddenError
from openissuer.web.portal.core import CurrentPortal, Portal, portal_router, render
from openissuer.web.portal.pki import SIGNER_KINDS, expiry_state
from openissuer.web.routers.signers import render_signer

router = portal_router()
ISSUANCE_TYPES = (CREDENTIAL_ISSUED.type, CREDENTIAL_REFUSED.type, OFFER_REDEEMED.type)


async def _issuance(portal: Portal) -> list[Any] | None:
    try:
        page = await portal.container.event_log.list_as(
            portal.principal, EventQuery(types=ISSUANCE_TYPES), limit=10, after=None
        )
    except ForbiddenError:
        return None
    return page.items


async def _health(portal: Portal) -> list[dict[str, Any]] | None:
    """Every IACA and signer with its expiry state (None when the role may not read them)."""
    now = portal.container.clock.now()
    rows: list[dict[str, Any]] = []
    try:
        iacas = await portal.container.iacas.list_as(portal.principal, limit=10, after=None)
        for iaca in iacas.items:
            rows.append(
                {
                    "kind": "IACA",
                    "name": iaca.data.common_name,
                    "active": iaca.active,
                    "not_after": iaca.data.not_after,
                    "state": expiry_state(iaca.data.not_after, now),
                    "link": f"/iacas/{iaca.id}",
                }
            )
        for path, (kind, label) in SIGNER_KINDS.items():
            page = await portal.container.signer_certificates[kind].list_as(portal.principal, limit=50, after=None)
            for entry in page.items:
                signer = render_signer(entry)
                data = signer.get("certificateData")
                rows.append(
                    {
                        "kind": label[:-1],
                        "name": (data or {}).get("commonName") or signer["id"][:8],
                        "active": signer["active"] and not signer.get("revoked"),
                        "not_after": None if data is None else data["notAfter"],
                        "state": "pending" if data is None else expiry_state(data["notAfter"], now),
                        "link": f"/signers/{path}",
                    }
                )
    except ForbiddenError:
        return None
    return rows


@router.get("/")
async def overview(request: Request, portal: CurrentPortal) -> HTMLResponse:
    health = await _health(portal)
    context = {
        "title": "Overview",
        "issuance": await _issuance(portal),
        "health": health,
        "problems": [] if health is None else [h for h in health if h["state"] in {"expired", "expiring"}],
        "has_active_iaca": health is not None and any(h["kind"] == "IACA" and h["active"] for h in health),
    }
    return render(portal, request, "overview.html", context, section="overview")
