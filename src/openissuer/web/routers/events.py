"""``GET /v1/events``: the tenant's audit event log (reference platform §11.3; admins and auditors)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from openissuer.domain.events import EVENT_KINDS, Event, EventCategory, EventQuery
from openissuer.domain.pages import Page
from openissuer.web.deps import ContainerDep, PrincipalDep
from openissuer.web.pagination import PageParams, render_page

router = APIRouter(prefix="/v1/events", tags=["Events"])

_TYPES = ", ".join(f"`{t}`" for t in sorted(EVENT_KINDS))
_CATEGORIES = ", ".join(f"`{c.value}`" for c in EventCategory)


class EventOut(BaseModel):
    id: str
    type: str = Field(description=f"One of {_TYPES}.")
    category: str = Field(description=f"One of {_CATEGORIES}.")
    timestamp: datetime
    requestId: str | None = Field(None, description="The X-Request-ID of the request that caused it.")  # noqa: N815
    clientId: str | None = Field(  # noqa: N815
        None, description="The management API client (or, for a token request, the wallet's OAuth client)."
    )
    data: dict[str, Any] = Field(description="Ids, names and error codes; never claim values, codes or secrets.")


class EventPage(BaseModel):
    data: list[EventOut]
    nextCursor: str | None = None  # noqa: N815


def _out(event: Event) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "category": event.category,
        "timestamp": event.created_at.isoformat(),
        "data": dict(event.data),
    }
    if event.request_id is not None:
        body["requestId"] = event.request_id
    if event.client_id is not None:
        body["clientId"] = event.client_id
    return body


def _values(raw: list[str]) -> tuple[str, ...]:
    """Repeated parameters and comma-separated lists alike: ``types=A&types=B`` or ``types=A,B``."""
    return tuple(dict.fromkeys(v.strip() for item in raw for v in item.split(",") if v.strip()))


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get(
    "",
    response_model=EventPage,
    response_model_exclude_none=True,
    summary="List audit events (admin, auditor)",
    description=(
        "Events in timestamp order. Filters: `dateFrom` (inclusive) and `dateTo` (exclusive), ISO 8601 date-times "
        "(UTC when no offset is given); `clientIds`, `categories`, `types`, each repeated or comma-separated. "
        "Categories and types are OR-ed with each other, every other filter is AND-ed. Events older than the "
        "retention setting are pruned."
    ),
)
async def list_events(
    principal: PrincipalDep,
    container: ContainerDep,
    page_params: Annotated[PageParams, Depends()],
    dateFrom: Annotated[datetime | None, Query(description="Events at or after this time.")] = None,  # noqa: N803
    dateTo: Annotated[datetime | None, Query(description="Events before this time.")] = None,  # noqa: N803
    clientIds: Annotated[list[str], Query(description="Only events of these client ids.")] = [],  # noqa: B006, N803
    categories: Annotated[list[str], Query(description=f"Categories: {_CATEGORIES}.")] = [],  # noqa: B006
    types: Annotated[list[str], Query(description="Event types (see `type`).")] = [],  # noqa: B006
    managementUserIds: Annotated[  # noqa: N803
        list[str],
        Query(
            description="The reference platform's filter on management users. openissuer has none (API clients "
            "only), so no event has one: `none` matches every event, any other value (`*`, an id) none."
        ),
    ] = [],  # noqa: B006
) -> Any:
    query = EventQuery(
        date_from=_aware(dateFrom),
        date_to=_aware(dateTo),
        client_ids=_values(clientIds),
        categories=_values(categories),
        types=_values(types),
    )
    page = await container.event_log.list_as(principal, query, limit=page_params.limit, after=page_params.after)
    if any(value != "none" for value in _values(managementUserIds)):
        page = Page(items=[], next_key=None)  # after the authorization and the other parameters' checks
    return render_page(page, [_out(event) for event in page.items])
