"""``/v2/credentials/<profile>/configurations``: credential configurations (reference platform §4), one router per
registered format, all served by the one ``ConfigurationService``.

The request and response models are built from the format's ``ConfigurationSchema``: the common fields, the wire
name of the type (``type``, ``vct``), the status switch (``includeStatus``, ``revocable``) and the format's own
fields. (No ``from __future__ import annotations`` here: the handlers' annotations must be the built classes.)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from openissuer.domain.branding import Branding
from openissuer.domain.configurations import CredentialConfiguration
from openissuer.domain.durations import Duration
from openissuer.formats.base import ConfigurationSchema, CredentialFormat
from openissuer.services.configurations import ConfigurationInput
from openissuer.services.key_proofs import KEY_ATTESTATIONS_OPTION
from openissuer.web.deps import ContainerDep, PrincipalDep
from openissuer.web.pagination import PageParams, render_page
from openissuer.web.path_ids import IdParam


class _Strict(BaseModel):
    # Unknown members are ignored, as the reference platform does (docs/compatibility.md); claimMappings entries
    # are parsed by the claims engine, which refuses unknown fields (a misspelt mapFrom would lose a claim).
    model_config = ConfigDict(extra="ignore")


class DurationBody(BaseModel):
    """Any combination of units; calendar units (years, months) follow the calendar."""

    # Unlike other members, an unknown unit is refused: ignoring it would change the duration silently.
    model_config = ConfigDict(extra="forbid")

    years: int = Field(0, ge=0, le=100)
    months: int = Field(0, ge=0, le=1200)
    weeks: int = Field(0, ge=0, le=5300)
    days: int = Field(0, ge=0, le=36600)
    hours: int = Field(0, ge=0, le=878400)
    minutes: int = Field(0, ge=0, le=52704000)
    seconds: int = Field(0, ge=0, le=3162240000)


class DurationOut(BaseModel):
    years: int | None = None
    months: int | None = None
    weeks: int | None = None
    days: int | None = None
    hours: int | None = None
    minutes: int | None = None
    seconds: int | None = None


class KeyAttestationsBody(_Strict):
    """OID4VCI 1.0 §12.2.4 ``key_attestations_required``: every proof must carry a key attestation (from the
    tenant's key attestation trust anchors) naming one of these values; an empty list or absence: any value."""

    keyStorage: list[str] | None = Field(  # noqa: N815
        None, min_length=1, max_length=10, description="e.g. iso_18045_high, iso_18045_moderate"
    )
    userAuthentication: list[str] | None = Field(None, min_length=1, max_length=10)  # noqa: N815


class MapFromBody(_Strict):
    mapFrom: str = Field(min_length=1, description="A claim path, e.g. `claims.expiry_date`.")  # noqa: N815


class BrandingBody(_Strict):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=1000)
    backgroundColor: str | None = Field(None, description="#RRGGBB")  # noqa: N815
    watermarkImage: str | None = Field(None, description="data:image/png;base64,…")  # noqa: N815
    issuerLogo: str | None = Field(None, description="https URL or data:image/… URI")  # noqa: N815
    issuerIcon: str | None = Field(None, description="data:image/svg+xml;base64,…")  # noqa: N815


_NAMESPACED = "`{namespace: {elementIdentifier: {mapFrom, type, required, defaultValue, display}}}`"
_FLAT = "`{claimName: {mapFrom, type, required, defaultValue, display}}`"


def _claim_mappings_description(schema: ConfigurationSchema) -> str:
    if schema.claims_namespaced:
        return _NAMESPACED
    if not schema.claim_paths:
        return _FLAT
    flags = ", ".join(schema.claim_flags)
    return (
        f"`{{claimName: {{mapFrom, type, required, defaultValue, display, {flags}}}}}`. Claim names are positions "
        "in the credential in the mapFrom grammar (`address.locality`, `degrees[0].type`, `nationalities[*]` for "
        f"every element); an entry with only {flags} describes a container or the elements of an array."
    )


def _fields(credential_format: CredentialFormat) -> dict[str, Any]:
    """The request model's fields for this format, by wire name."""
    schema = credential_format.schema
    fields: dict[str, Any] = {
        schema.type_field: (str, Field(min_length=1, max_length=1024, description=schema.type_description)),
        "claimMappings": (
            dict[str, Any],
            Field(description=_claim_mappings_description(schema)),
        ),
        "expiresIn": (DurationBody, ...) if schema.expires_in_required else (DurationBody | None, None),
        "claimSourceId": (str | None, None),
        "branding": (BrandingBody | None, None),
    }
    # Every format takes them, so a format without validity mapping answers "is not supported by this format"
    # instead of silently ignoring them as unknown members.
    fields["validFrom"] = (MapFromBody | None, None)
    fields["validUntil"] = (MapFromBody | None, None)
    if schema.status_field is not None:
        fields[schema.status_field] = (
            bool | None,
            Field(None, description=f"Issue revocable credentials (default {str(schema.status_default).lower()})."),
        )
    for name, option in schema.options.items():
        fields[name] = (Annotated[Any, WithJsonSchema(dict(option.json_schema))], None)
    if credential_format.binds_holder:
        fields[KEY_ATTESTATIONS_OPTION] = (KeyAttestationsBody | None, None)
    return fields


def _input(credential_format: CredentialFormat, body: BaseModel) -> ConfigurationInput:
    schema = credential_format.schema
    values = body.model_dump()
    branding = values.get("branding")
    valid_from, valid_until = values.get("validFrom"), values.get("validUntil")
    return ConfigurationInput(
        credential_type=values[schema.type_field],
        claim_mappings=values["claimMappings"],
        expires_in=None if values.get("expiresIn") is None else Duration(**values["expiresIn"]),
        valid_from_path=None if valid_from is None else valid_from["mapFrom"],
        valid_until_path=None if valid_until is None else valid_until["mapFrom"],
        claim_source_id=values.get("claimSourceId"),
        include_status=None if schema.status_field is None else values.get(schema.status_field),
        branding=None
        if branding is None
        else Branding(
            name=branding["name"],
            description=branding["description"],
            background_color=branding["backgroundColor"],
            watermark_image=branding["watermarkImage"],
            issuer_logo=branding["issuerLogo"],
            issuer_icon=branding["issuerIcon"],
        ),
        options={name: values.get(name) for name in schema.options} | _key_attestations(values),
    )


def _key_attestations(values: dict[str, Any]) -> dict[str, Any]:
    required = values.get(KEY_ATTESTATIONS_OPTION)
    if required is None:
        return {}
    return {KEY_ATTESTATIONS_OPTION: {k: v for k, v in required.items() if v}}


def render_configuration(credential_format: CredentialFormat, c: CredentialConfiguration) -> dict[str, Any]:
    """Return the API form of a configuration: the request fields plus ``id``."""
    schema = credential_format.schema
    body: dict[str, Any] = {"id": c.id, schema.type_field: c.credential_type, "claimMappings": c.claim_mappings}
    if c.expires_in is not None:
        body["expiresIn"] = c.expires_in.to_dict()
    if schema.status_field is not None:
        body[schema.status_field] = c.include_status
    if c.valid_from_path is not None:
        body["validFrom"] = {"mapFrom": c.valid_from_path}
    if c.valid_until_path is not None:
        body["validUntil"] = {"mapFrom": c.valid_until_path}
    if c.claim_source_id is not None:
        body["claimSourceId"] = c.claim_source_id
    if c.branding is not None:
        b = c.branding
        fields = {
            "name": b.name,
            "description": b.description,
            "backgroundColor": b.background_color,
            "watermarkImage": b.watermark_image,
            "issuerLogo": b.issuer_logo,
            "issuerIcon": b.issuer_icon,
        }
        body["branding"] = {k: v for k, v in fields.items() if v is not None}
    body.update((name, value) for name, value in c.options.items() if value is not None)
    return body


def create_router(credential_format: CredentialFormat) -> APIRouter:
    """Return the CRUD router of one format's configurations."""
    schema, profile, format_id = credential_format.schema, credential_format.profile, credential_format.format_id
    title = "".join(part.capitalize() for part in profile.replace("-", " ").split())
    fields = _fields(credential_format)
    Body: type[BaseModel] = create_model(f"{title}ConfigurationBody", __base__=_Strict, **fields)  # noqa: N806
    out_fields = {**fields, "id": (str, ...), "expiresIn": (DurationOut | None, None)}
    Out: type[BaseModel] = create_model(f"{title}ConfigurationOut", __base__=_Strict, **out_fields)  # noqa: N806
    PageOut: type[BaseModel] = create_model(  # noqa: N806
        f"{title}ConfigurationPage",
        data=(list[Out], ...),  # type: ignore[valid-type]
        nextCursor=(str | None, None),
    )
    router = APIRouter(prefix=f"/v2/credentials/{profile}/configurations", tags=[f"Configurations ({format_id})"])
    label = f"{format_id} configuration"

    @router.post(
        "", status_code=201, response_model=Out, response_model_exclude_none=True, summary=f"Create an {label}"
    )
    async def create_configuration(body: Body, principal: PrincipalDep, container: ContainerDep) -> Any:  # type: ignore[valid-type]
        configuration = await container.configurations.create_as(principal, format_id, _input(credential_format, body))
        return render_configuration(credential_format, configuration)

    @router.get("", response_model=PageOut, response_model_exclude_none=True, summary=f"List {label}s")
    async def list_configurations(
        principal: PrincipalDep,
        container: ContainerDep,
        page_params: Annotated[PageParams, Depends()],
        credential_type: Annotated[
            str | None, Query(alias=schema.type_field, description=f"Only configurations of this {schema.type_field}.")
        ] = None,
    ) -> Any:
        page = await container.configurations.list_as(
            principal, format_id, limit=page_params.limit, after=page_params.after, credential_type=credential_type
        )
        return render_page(page, [render_configuration(credential_format, c) for c in page.items])

    @router.get("/{id}", response_model=Out, response_model_exclude_none=True, summary=f"Retrieve an {label}")
    async def get_configuration(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Any:
        configuration = await container.configurations.get_as(principal, format_id, id)
        return render_configuration(credential_format, configuration)

    @router.put(
        "/{id}", response_model=Out, response_model_exclude_none=True, summary=f"Replace an {label} (the full body)"
    )
    async def replace_configuration(id: IdParam, body: Body, principal: PrincipalDep, container: ContainerDep) -> Any:  # type: ignore[valid-type]
        configuration = await container.configurations.replace_as(
            principal, format_id, id, _input(credential_format, body)
        )
        return render_configuration(credential_format, configuration)

    @router.delete("/{id}", status_code=204, summary=f"Delete an {label}")
    async def delete_configuration(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Response:
        await container.configurations.delete_as(principal, format_id, id)
        return Response(status_code=204)

    return router
