"""Credential configurations of every registered format, with the claim-mapping editor and the metadata preview.

The editor posts plain form fields (``claim-<n>-name``, ``claim-<n>-mapFrom``, ...) that are assembled into the
API's ``claimMappings`` object and handed to the same service the API calls, so every rule is the service's. A
mapping's properties the editor does not show (``defaultValue``, ``display``) travel in a hidden field of its row
and are saved as they were. "Add a claim" and "Preview" are submit buttons: the editor works without JavaScript;
with it, ``portal.js`` refreshes the preview as you type.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openissuer.claims.claim_type import ClaimType
from openissuer.domain.branding import Branding
from openissuer.domain.durations import Duration
from openissuer.domain.json_input import parse_json_input
from openissuer.errors import ErrorDetail, ManagementError, ValidationError
from openissuer.formats.base import CredentialFormat
from openissuer.services.access import ISSUERS
from openissuer.services.configurations import ConfigurationInput
from openissuer.web.portal.core import (
    CurrentPortal,
    FormErrors,
    Paging,
    Portal,
    SubmittedPortal,
    error_page,
    field_error,
    portal_router,
    redirect,
    render,
    whole_number,
)
from openissuer.web.routers.configurations import render_configuration

router = portal_router()
FRAGMENT_HEADER = "X-Portal-Fragment"
MAX_CLAIM_ROWS = 60  # rows of the editor (7 fields each, within Starlette's 1,000 fields a form); more: the API
DEFAULT_NAMESPACE = "org.iso.18013.5.1"
CLAIM_TYPES = [("", "(inferred)")] + [(t.value, t.value) for t in ClaimType]
DURATION_UNITS = ("years", "months", "days")


def _format(portal: Portal, profile: str) -> CredentialFormat:
    for credential_format in portal.container.formats:
        if credential_format.profile == profile:
            return credential_format
    raise ValidationError("Resource Not Found", details=[ErrorDetail("params", "profile", "no such format", profile)])


def _rows_from_mappings(credential_format: CredentialFormat, mappings: dict[str, Any]) -> list[dict[str, Any]]:
    """The editor's rows of a stored ``claimMappings``."""
    rows: list[dict[str, Any]] = []
    namespaced = credential_format.schema.claims_namespaced
    groups = mappings.items() if namespaced else [("", mappings)]
    for namespace, entries in groups:
        for name, entry in entries.items():
            row = {
                "namespace": namespace,
                "name": name,
                "mapFrom": entry.get("mapFrom", ""),
                "type": entry.get("type", ""),
                "required": bool(entry.get("required")),
            }
            for flag in credential_format.schema.claim_flags:
                row[flag] = bool(entry.get(flag))
            edited = {"mapFrom", "type", "required", *credential_format.schema.claim_flags}
            kept = {key: value for key, value in entry.items() if key not in edited}
            row["extra"] = json.dumps(kept, ensure_ascii=False) if kept else ""
            row["extra_keys"] = sorted(kept)
            rows.append(row)
    return rows


def _rows_from_form(portal: Portal, credential_format: CredentialFormat) -> list[dict[str, Any]]:
    count = whole_number(portal.field("claim_count")) or 0
    if count > MAX_CLAIM_ROWS:  # never save a configuration with some of its claims cut off
        raise field_error("claim_count", f"the editor holds at most {MAX_CLAIM_ROWS} claims; use the API for more")
    rows = []
    for i in range(count):
        row: dict[str, Any] = {
            "namespace": portal.field(f"claim-{i}-namespace"),
            "name": portal.field(f"claim-{i}-name"),
            "mapFrom": portal.field(f"claim-{i}-mapFrom"),
            "type": portal.field(f"claim-{i}-type"),
            "required": portal.checked(f"claim-{i}-required"),
            "extra": portal.field(f"claim-{i}-extra"),
        }
        for flag in credential_format.schema.claim_flags:
            row[flag] = portal.checked(f"claim-{i}-{flag}")
        row["extra_keys"] = sorted(_extra(row, i))
        rows.append(row)
    return rows


def _extra(row: dict[str, Any], index: int) -> dict[str, Any]:
    """The mapping's properties the editor does not show (``defaultValue``, ``display``), kept as they were: the row
    carries them in a hidden field, so saving from the portal never drops them."""
    if not row.get("extra"):
        return {}
    try:
        kept = parse_json_input(row["extra"])
    except ValueError:
        kept = None
    if not isinstance(kept, dict):
        raise field_error(f"claim-{index}-name", "its other properties (defaultValue, display) are not a JSON object")
    return kept


def _mappings(credential_format: CredentialFormat, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The API's ``claimMappings`` from the editor's rows (empty rows are skipped)."""
    mappings: dict[str, Any] = {}
    for index, row in enumerate(rows):
        if not row["name"] and not row["mapFrom"]:
            continue
        entry: dict[str, Any] = dict(_extra(row, index))
        if row["mapFrom"]:
            entry["mapFrom"] = row["mapFrom"]
        if row["type"]:
            entry["type"] = row["type"]
        if row["required"]:
            entry["required"] = True
        for flag in credential_format.schema.claim_flags:
            if row.get(flag):
                entry[flag] = True
        if credential_format.schema.claims_namespaced:
            mappings.setdefault(row["namespace"], {})[row["name"]] = entry
        else:
            mappings[row["name"]] = entry
    return mappings


def _placement(
    credential_format: CredentialFormat, rows: list[dict[str, Any]], error: ManagementError
) -> dict[str, str]:
    """Map each error's API parameter (``claimMappings.<namespace>.<claim>.mapFrom``) to the editor's field."""
    prefixes: list[tuple[str, int]] = []
    for i, row in enumerate(rows):
        if credential_format.schema.claims_namespaced:
            prefixes.append((f"claimMappings.{row['namespace']}.{row['name']}", i))
            prefixes.append((f"claimMappings.{row['namespace']}", i))
        else:
            prefixes.append((f"claimMappings.{row['name']}", i))
    placed: dict[str, str] = {}
    for detail in error.details:
        param = detail.param
        for prefix, i in sorted(prefixes, key=lambda p: -len(p[0])):
            if param == prefix:
                placed[param] = f"claim-{i}-name"
                break
            if param.startswith(prefix + "."):
                rest = param[len(prefix) + 1 :]
                known = {"mapFrom", "type", "required", *credential_format.schema.claim_flags}
                placed[param] = f"claim-{i}-{rest}" if rest in known else f"claim-{i}-name"
                break
    type_field = credential_format.schema.type_field
    placed.setdefault(type_field, "credentialType")
    for unit in ("expiresIn", *(f"expiresIn.{u}" for u in DURATION_UNITS)):
        placed.setdefault(unit, "expiresIn")
    return placed


def _input(portal: Portal, credential_format: CredentialFormat, rows: list[dict[str, Any]]) -> ConfigurationInput:
    """The service's input from the form; raise ValidationError naming the field the form got wrong."""
    schema = credential_format.schema
    details: list[ErrorDetail] = []
    units: dict[str, int] = {}
    for unit in DURATION_UNITS:
        raw = portal.field(f"expiresIn-{unit}")
        amount = whole_number(raw)
        if raw and (amount is None or amount > 36600):
            details.append(ErrorDetail("body", "expiresIn", f"{unit} must be a whole number 0-36600", raw[:20]))
        elif amount is not None:
            units[unit] = amount
    options: dict[str, Any] = {}
    raw_options = portal.field("options")
    if raw_options:
        try:
            parsed = parse_json_input(raw_options)  # strict, bounded depth: never a RecursionError
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
            allowed = set(schema.options) | ({"keyAttestationsRequired"} if credential_format.binds_holder else set())
            unknown = sorted(set(parsed) - allowed)
            if unknown:
                details.append(ErrorDetail("body", "options", f"unknown fields: {', '.join(unknown)}"))
            options = parsed
        except ValueError:
            details.append(ErrorDetail("body", "options", "must be a JSON object of this format's own fields"))
    if details:
        raise ValidationError("Validation Error", details=details)
    branding = None
    if any(portal.field(f"branding-{k}") for k in ("name", "description", "backgroundColor")):
        branding = Branding(
            name=portal.optional("branding-name"),
            description=portal.optional("branding-description"),
            background_color=portal.optional("branding-backgroundColor"),
            watermark_image=None,
            issuer_logo=None,
            issuer_icon=None,
        )
    return ConfigurationInput(
        credential_type=portal.field("credentialType"),
        claim_mappings=_mappings(credential_format, rows),
        expires_in=Duration(**units) if units else None,
        valid_from_path=portal.optional("validFrom") if schema.validity_mapping else None,
        valid_until_path=portal.optional("validUntil") if schema.validity_mapping else None,
        claim_source_id=portal.optional("claimSourceId"),
        include_status=portal.checked("includeStatus") if schema.status_field else None,
        branding=branding,
        options=options,
    )


def _values_from_configuration(credential_format: CredentialFormat, body: dict[str, Any]) -> dict[str, Any]:
    schema = credential_format.schema
    values: dict[str, Any] = {"credentialType": body[schema.type_field]}
    for unit, amount in (body.get("expiresIn") or {}).items():
        values[f"expiresIn-{unit}"] = str(amount)
    for key in ("name", "description", "backgroundColor"):
        if (body.get("branding") or {}).get(key):
            values[f"branding-{key}"] = body["branding"][key]
    if schema.status_field and body.get(schema.status_field):
        values["includeStatus"] = "on"
    for key in ("validFrom", "validUntil"):
        if body.get(key):
            values[key] = body[key]["mapFrom"]
    if body.get("claimSourceId"):
        values["claimSourceId"] = body["claimSourceId"]
    own = {k: body[k] for k in (*schema.options, "keyAttestationsRequired") if k in body}
    if own:
        values["options"] = json.dumps(own)
    return values


def _editor(
    portal: Portal,
    request: Request,
    credential_format: CredentialFormat,
    *,
    configuration_id: str | None,
    values: dict[str, Any],
    rows: list[dict[str, Any]],
    preview: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    while len(rows) < 1:
        rows.append(_empty_row(credential_format, rows))
    context = {
        "title": ("Edit" if configuration_id else "New") + f" {credential_format.format_id} configuration",
        "format": credential_format,
        "schema": credential_format.schema,
        "configuration_id": configuration_id,
        "values": values,
        "rows": rows,
        "claim_types": CLAIM_TYPES,
        "max_rows": MAX_CLAIM_ROWS,
        "preview": None if preview is None else json.dumps(preview, indent=2, ensure_ascii=False),
        "errors": errors or FormErrors(),
        "can_write": portal.can(ISSUERS),
    }
    return render(portal, request, "configuration_form.html", context, status=status, section="configurations")


def _empty_row(credential_format: CredentialFormat, rows: list[dict[str, Any]]) -> dict[str, Any]:
    namespace = (
        rows[-1]["namespace"] if rows else (DEFAULT_NAMESPACE if credential_format.schema.claims_namespaced else "")
    )
    row: dict[str, Any] = {
        "namespace": namespace,
        "name": "",
        "mapFrom": "",
        "type": "",
        "required": False,
        "extra": "",
        "extra_keys": [],
    }
    row.update({flag: False for flag in credential_format.schema.claim_flags})
    return row


@router.get("/configurations")
async def configurations(request: Request, portal: CurrentPortal) -> HTMLResponse:
    try:
        paging = Paging.of(request)
        selected = request.query_params.get("profile")
        groups = []
        for credential_format in portal.container.formats:
            after = paging.after if credential_format.profile == selected else None
            page = await portal.container.configurations.list_as(
                portal.principal, credential_format.format_id, limit=paging.limit, after=after
            )
            next_link = paging.next_link(request, page, profile=credential_format.profile)
            items = [render_configuration(credential_format, c) for c in page.items]
            groups.append({"format": credential_format, "items": items, "next_link": next_link})
    except ManagementError as exc:
        return error_page(portal, request, exc)
    context = {"title": "Credential configurations", "groups": groups, "can_write": portal.can(ISSUERS)}
    return render(portal, request, "configurations.html", context, section="configurations")


@router.get("/configurations/{profile}/new")
async def new_configuration(request: Request, profile: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        credential_format = _format(portal, profile)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return _editor(portal, request, credential_format, configuration_id=None, values={}, rows=[])


@router.get("/configurations/{profile}/{configuration_id}")
async def configuration(request: Request, profile: str, configuration_id: str, portal: CurrentPortal) -> HTMLResponse:
    try:
        credential_format = _format(portal, profile)
        found = await portal.container.configurations.get_as(
            portal.principal, credential_format.format_id, configuration_id
        )
    except ManagementError as exc:
        return error_page(portal, request, exc)
    body = render_configuration(credential_format, found)
    rows = _rows_from_mappings(credential_format, body["claimMappings"])
    values = _values_from_configuration(credential_format, body)
    preview = None
    if portal.can(ISSUERS):
        try:
            data = _input_of_stored(credential_format, found)
            preview = portal.container.configurations.preview_as(portal.principal, credential_format.format_id, data)
        except ManagementError:
            preview = None
    return _editor(
        portal, request, credential_format, configuration_id=configuration_id, values=values, rows=rows, preview=preview
    )


def _input_of_stored(credential_format: CredentialFormat, found: Any) -> ConfigurationInput:
    return ConfigurationInput(
        credential_type=found.credential_type,
        claim_mappings=found.claim_mappings,
        expires_in=found.expires_in,
        valid_from_path=found.valid_from_path,
        valid_until_path=found.valid_until_path,
        claim_source_id=found.claim_source_id,
        include_status=found.include_status,
        branding=found.branding,
        options=dict(found.options),
    )


async def _submit(request: Request, profile: str, configuration_id: str | None, portal: Portal) -> Response:
    try:
        credential_format = _format(portal, profile)
        rows = _rows_from_form(portal, credential_format)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    values = {k: v for k, v in (portal.form or {}).items() if isinstance(v, str)}
    action = portal.field("action") or "save"
    if action == "add":
        if len(rows) < MAX_CLAIM_ROWS:
            rows.append(_empty_row(credential_format, rows))
        return _editor(portal, request, credential_format, configuration_id=configuration_id, values=values, rows=rows)
    removed = whole_number(action[7:]) if action.startswith("remove-") else None
    if removed is not None:
        index = removed
        rows = [row for i, row in enumerate(rows) if i != index]
        return _editor(portal, request, credential_format, configuration_id=configuration_id, values=values, rows=rows)
    service = portal.container.configurations
    try:
        data = _input(portal, credential_format, rows)
        if action == "preview":
            preview = service.preview_as(portal.principal, credential_format.format_id, data)
            return _editor(
                portal,
                request,
                credential_format,
                configuration_id=configuration_id,
                values=values,
                rows=rows,
                preview=preview,
            )
        if configuration_id is None:
            saved = await service.create_as(portal.principal, credential_format.format_id, data)
        else:
            saved = await service.replace_as(portal.principal, credential_format.format_id, configuration_id, data)
    except ManagementError as exc:
        errors = FormErrors.of(exc, aliases=_placement(credential_format, rows, exc))
        return _editor(
            portal,
            request,
            credential_format,
            configuration_id=configuration_id,
            values=values,
            rows=rows,
            errors=errors,
            status=exc.status,
        )
    return redirect(f"/configurations/{profile}/{saved.id}", "saved" if configuration_id else "created")


@router.post("/configurations/{profile}/new")
async def create_configuration(request: Request, profile: str, portal: SubmittedPortal) -> Response:
    return await _submit(request, profile, None, portal)


@router.post("/configurations/{profile}/preview")
async def preview_fragment(request: Request, profile: str, portal: SubmittedPortal) -> Response:
    """The preview alone, for ``portal.js`` (the Preview button renders the whole page instead)."""
    try:
        credential_format = _format(portal, profile)
        data = _input(portal, credential_format, _rows_from_form(portal, credential_format))
        entry = portal.container.configurations.preview_as(portal.principal, credential_format.format_id, data)
        context = {"preview": json.dumps(entry, indent=2, ensure_ascii=False), "errors": FormErrors()}
        status = 200
    except ManagementError as exc:
        context = {"preview": None, "errors": FormErrors.of(exc)}
        status = 200  # the fragment shows the problems; the page itself is unchanged
    response = render(portal, request, "preview_fragment.html", context, status=status)
    response.headers[FRAGMENT_HEADER] = "preview"  # portal.js inserts only a response that says it is the fragment
    return response


@router.post("/configurations/{profile}/{configuration_id}")
async def replace_configuration(
    request: Request, profile: str, configuration_id: str, portal: SubmittedPortal
) -> Response:
    return await _submit(request, profile, configuration_id, portal)


@router.post("/configurations/{profile}/{configuration_id}/delete")
async def delete_configuration(
    request: Request, profile: str, configuration_id: str, portal: SubmittedPortal
) -> Response:
    try:
        credential_format = _format(portal, profile)
        await portal.container.configurations.delete_as(portal.principal, credential_format.format_id, configuration_id)
    except ManagementError as exc:
        return error_page(portal, request, exc)
    return redirect("/configurations", "deleted")
