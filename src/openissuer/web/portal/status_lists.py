"""IETF Token Status Lists of each format that has them (mDoc, SD-JWT VC): status list configurations (the tokens'
lifetimes for one credential type: list, create, edit the durations, delete) and the lists themselves (read only).

Durations are read with the API's ``DurationBody`` and the configurations changed through the same
``StatusListConfigurationService`` as ``/v2/credentials/<profile>/status-lists/configurations``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.domain.durations import Duration
from openissuer.domain.status_list_configurations import StatusListConfiguration
from openissuer.errors import ErrorDetail, ManagementError, NotFoundError, ValidationError
from openissuer.services.access import ISSUERS
from openissuer.services.status_list_configurations import StatusListConfigurationService
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Paging,
    Portal,
    SubmittedPortal,
    error_page,
    parse_body,
    portal_router,
    redirect,
    render,
)
from openissuer.web.routers.configurations import DurationBody

router = portal_router()
UNITS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
DURATIONS = (
    ("timeToLiveDuration", "Time to live (ttl)", "How long verifiers may cache a token: at least one minute."),
    ("expiryDuration", "Expiry", "From a token's iat to its exp: longer than the time to live."),
)


def _service(portal: Portal, profile: str) -> StatusListConfigurationService:
    service = portal.container.status_list_configurations.get(profile)
    if service is None:
        raise NotFoundError(
            "Resource Not Found", details=[ErrorDetail("params", "profile", "no status lists", profile)]
        )
    return service


def _duration_values(configuration: StatusListConfiguration) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, duration in (
        ("timeToLiveDuration", configuration.time_to_live),
        ("expiryDuration", configuration.expiry),
    ):
        for unit, amount in duration.to_dict().items():
            values[f"{name}-{unit}"] = str(amount)
    return values


def _durations(portal: Portal) -> tuple[Duration, Duration]:
    """Both durations from the form, each read as the API reads it; every problem at once."""
    details: list[ErrorDetail] = []
    durations: list[Duration] = []
    for name, _label, _hint in DURATIONS:
        raw = {unit: portal.field(f"{name}-{unit}") for unit in UNITS if portal.field(f"{name}-{unit}")}
        try:
            durations.append(Duration(**parse_body(DurationBody, raw).model_dump()))
        except ValidationError as exc:
            details += [ErrorDetail(d.location, f"{name}.{d.param}", d.msg, d.value) for d in exc.details]
    if details:
        raise ValidationError("Validation Error", details=details)
    return durations[0], durations[1]


def _errors(exc: ManagementError) -> FormErrors:
    return FormErrors.of(exc, nested={name: name for name, _label, _hint in DURATIONS})


@router.get("/status-lists")
async def status_lists(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        paging = Paging.of(request)
        selected = request.query_params.get("profile")
        groups = []
        for profile, service in portal.container.status_list_configurations.items():
            page = await service.list_as(
                portal.principal, limit=paging.limit, after=paging.after if profile == selected else None
            )
            next_link = paging.next_link(request, page, profile=profile)
            groups.append(
                {"profile": profile, "type_field": service.type_field, "items": page.items, "next_link": next_link}
            )
    except ManagementError as exc:
        return error_page(portal, request, exc)
    context = {"title": "Status lists", "groups": groups, "can_write": portal.can(ISSUERS)}
    return render(portal, request, "status_lists.html", context, section="status")


async def _configuration_page(
    portal: Portal,
    request: Request,
    profile: str,
    configuration_id: str | None,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    service = _service(portal, profile)
    found = None if configuration_id is None else await service.get_as(portal.principal, configuration_id)
    if values is None:
        values = {} if found is None else _duration_values(found)
    context = {
        "title": "New status list configuration"
        if found is None
        else f"Status list configuration of {found.credential_type}",
        "profile": profile,
        "type_field": service.type_field,
        "configuration": found,
        "durations": DURATIONS,
        "units": UNITS,
        "values": values,
        "errors": errors or FormErrors(),
        "can_write": portal.can(ISSUERS),
    }
    return render(portal, request, "status_list_configuration.html", context, status=status, section="status")


@router.get("/status-lists/{profile}/configurations/new")
async def new_configuration(request: Request, profile: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        return await _configuration_page(portal, request, profile, None)
    except ManagementError as exc:
        return error_page(portal, request, exc)


@router.post("/status-lists/{profile}/configurations/new")
async def create_configuration(request: Request, profile: str, portal: SubmittedPortal) -> Response:
    try:
        service = _service(portal, profile)
        time_to_live, expiry = _durations(portal)
        created = await service.create_as(portal.principal, portal.field(service.type_field), time_to_live, expiry)
    except ManagementError as failure:
        return await _refused(portal, request, profile, None, failure)
    return redirect(f"/status-lists/{profile}/configurations/{created.id}", "created")


async def _refused(
    portal: Portal, request: Request, profile: str, configuration_id: str | None, failure: ManagementError
) -> Response:
    """The form again with the problems next to their fields (the problem alone when the form cannot be shown)."""
    try:
        return await _configuration_page(
            portal,
            request,
            profile,
            configuration_id,
            values=portal.echo(),
            errors=_errors(failure),
            status=failure.status,
        )
    except ManagementError:
        return error_page(portal, request, failure)


@router.get("/status-lists/{profile}/configurations/{configuration_id}")
async def configuration(request: Request, profile: str, configuration_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        return await _configuration_page(portal, request, profile, configuration_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)


@router.post("/status-lists/{profile}/configurations/{configuration_id}")
async def replace_configuration(
    request: Request, profile: str, configuration_id: str, portal: SubmittedPortal
) -> Response:
    try:
        service = _service(portal, profile)
        time_to_live, expiry = _durations(portal)
        await service.replace_as(portal.principal, configuration_id, time_to_live, expiry)
    except ManagementError as failure:
        return await _refused(portal, request, profile, configuration_id, failure)
    return redirect(f"/status-lists/{profile}/configurations/{configuration_id}", "saved")


@router.post("/status-lists/{profile}/configurations/{configuration_id}/delete")
async def delete_configuration(
    request: Request, profile: str, configuration_id: str, portal: SubmittedPortal
) -> Response:
    try:
        await _service(portal, profile).delete_as(portal.principal, configuration_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/status-lists", "deleted")


@router.get("/status-lists/{profile}/lists")
async def lists(request: Request, profile: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        service = _service(portal, profile)
        tokens = portal.container.status_list_tokens[profile]
        paging = Paging.of(request)
        page = await tokens.list_as(portal.principal, limit=paging.limit, after=paging.after)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    context = {
        "title": f"Status lists ({profile})",
        "profile": profile,
        "type_field": service.type_field,
        "lists": page.items,
        "next_link": paging.next_link(request, page),
    }
    return render(portal, request, "status_list_lists.html", context, section="status")
