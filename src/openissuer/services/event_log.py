"""The audit event log (reference platform §11.3): ``GET /v1/events`` for admins and auditors."""

from __future__ import annotations

from openissuer.domain.api_clients import ManagementPrincipal
from openissuer.domain.events import Event, EventQuery
from openissuer.domain.pages import Page, PageKey
from openissuer.errors import ErrorDetail, ValidationError
from openissuer.ports.uow import UnitOfWorkFactory
from openissuer.services.access import READERS, authorize

MAX_FILTER_VALUES = 100


class EventLogService:
    """Read a tenant's events."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    async def list_as(
        self, principal: ManagementPrincipal, query: EventQuery, *, limit: int, after: PageKey | None
    ) -> Page[Event]:
        """Return one page of the caller's tenant's events matching ``query`` (admin, auditor).

        Categories and types are OR-ed, the other filters AND-ed; ``dateFrom`` is inclusive, ``dateTo`` exclusive.
        """
        authorize(principal, READERS)
        details = [
            ErrorDetail("query", name, f"at most {MAX_FILTER_VALUES} values")
            for name, values in (
                ("clientIds", query.client_ids),
                ("categories", query.categories),
                ("types", query.types),
            )
            if len(values) > MAX_FILTER_VALUES
        ]
        if query.date_from is not None and query.date_to is not None and query.date_from > query.date_to:
            details.append(ErrorDetail("query", "dateTo", "must not be before dateFrom"))
        if details:
            raise ValidationError("Validation Error", details=details)
        async with self._uow(read_only=True) as uow:
            return await uow.events.list(principal.tenant_id, query, limit=limit, after=after)
