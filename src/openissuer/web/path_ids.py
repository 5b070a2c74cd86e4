"""Ids in management paths, as the reference platform treats them (§2.4: "400 (malformed id), 404 (unknown)").

Every object id is a UUID (``domain/ids.py``), so a path segment that is not one is a malformed request: 400 with
a detail naming the path parameter, before any lookup. Path parameters carry the reference's names
(``iacaId``, ``claimSourceId``, ``documentSignerId``, ...); a service's ``NotFoundError.for_id`` names ``id``,
and ``name_path_parameter`` renames it to the parameter of the route that answered, so a 404 names the real
parameter too. (No ``from __future__ import annotations``: FastAPI reads the dependency's parameter
annotation, which names the parameter, at run time.)
"""

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Path

from openissuer.errors import ErrorDetail, IssuerError, ManagementError, ValidationError
from openissuer.web.deps import PrincipalDep

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MALFORMED_ID = "must be a UUID"


def verify_path_id(name: str, value: str) -> str:
    """Return ``value`` when it is a UUID; raise a 400 naming the path parameter ``name`` otherwise."""
    if not _UUID.fullmatch(value):
        raise ValidationError("Validation Error", details=[ErrorDetail("params", name, MALFORMED_ID, value[:100])])
    return value.lower()


def path_id(name: str, description: str = "The object's id (a UUID).", *, public: bool = False) -> Any:
    """Return a dependency reading the path parameter ``name`` (declared for OpenAPI) and checking it; on a
    management route the caller is authenticated first (401 before 400)."""

    async def public_dependency(value: Annotated[str, Path(alias=name, description=description)]) -> str:
        return verify_path_id(name, value)

    async def dependency(value: Annotated[str, Path(alias=name, description=description)], _: PrincipalDep) -> str:
        return verify_path_id(name, value)

    chosen = public_dependency if public else dependency
    chosen.__name__ = f"path_{name}"
    return Depends(chosen)


def name_path_parameter(error: IssuerError, path_params: Mapping[str, Any]) -> IssuerError:
    """Return ``error`` with a ``params``/``id`` detail renamed to the route's own path parameter (when it has
    exactly one and it is not called ``id``)."""
    if not isinstance(error, ManagementError) or len(path_params) != 1:
        return error
    (name,) = path_params
    if name == "id" or not any(d.location == "params" and d.param == "id" for d in error.details):
        return error
    error.details = tuple(
        ErrorDetail(d.location, name, d.msg, d.value) if d.location == "params" and d.param == "id" else d
        for d in error.details
    )
    return error


IdParam = Annotated[str, path_id("id")]
IacaIdParam = Annotated[str, path_id("iacaId", "The IACA's id.")]
PublicIacaIdParam = Annotated[str, path_id("iacaId", "The IACA's id.", public=True)]
ClaimSourceIdParam = Annotated[str, path_id("claimSourceId", "The claims source's id.")]
UserIdParam = Annotated[str, path_id("userId", "The user's id.")]
DocumentSignerIdParam = Annotated[str, path_id("documentSignerId", "The document signer's id.")]
StatusListSignerIdParam = Annotated[str, path_id("statusListSignerId", "The status list signer's id.")]
