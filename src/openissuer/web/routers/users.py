"""Users (reference platform §5.2): ``/v1/users`` CRUD, ``POST /v1/users/search`` and the credentials issued to one.

Included after ``/v1/users/authentication-providers`` so that path is not taken for a user id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from openissuer.domain.issued import IssuedCredentialRecord
from openissuer.domain.pages import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT
from openissuer.domain.users import UserSearch
from openissuer.services.users import SubjectInput, UserInput, UserView
from openissuer.web.deps import ContainerDep, PrincipalDep
from openissuer.web.pagination import PageParams, decode_cursor, render_page
from openissuer.web.path_ids import IdParam, UserIdParam

router = APIRouter(prefix="/v1/users", tags=["Users"])


class SubjectBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    providerId: str = Field(description="The tenant's authentication provider.")  # noqa: N815
    subjectId: str = Field(description="The holder's `sub` at that provider.")  # noqa: N815


class UserBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    claims: dict[str, Any] = Field(default_factory=dict, description="Persisted claims, read as `claims.*`.")
    authenticationProvider: SubjectBody | None = None  # noqa: N815


class SubjectOut(BaseModel):
    providerId: str  # noqa: N815
    url: str | None = None
    subjectId: str  # noqa: N815


class UserOut(BaseModel):
    id: str
    claims: dict[str, Any]
    authenticationProvider: SubjectOut | None = None  # noqa: N815


class UserPage(BaseModel):
    data: list[UserOut]
    nextCursor: str | None = None  # noqa: N815


class SearchSubjectBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    providerId: str | None = None  # noqa: N815
    subjectId: str | None = None  # noqa: N815


class UserSearchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    claims: dict[str, Any] | None = Field(
        None, description="Exact match on every given field; nested objects match recursively."
    )
    authenticationProvider: SearchSubjectBody | None = None  # noqa: N815
    limit: int = Field(DEFAULT_PAGE_LIMIT, ge=1, le=MAX_PAGE_LIMIT)
    cursor: str | None = Field(None, description="`nextCursor` of the previous page.")


class IssuedCredentialOut(BaseModel):
    """The record's format-neutral fields, plus the format's own (for mDocs: `docType`, `devicePublicKey`,
    `namespaces` with each element's digest ID and digest, `msoHash`). Never a claim value."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    profile: str
    format: str
    credentialConfigurationId: str  # noqa: N815
    issuedDate: datetime  # noqa: N815
    validFrom: datetime  # noqa: N815
    validUntil: datetime  # noqa: N815
    status: str
    offerId: str | None = None  # noqa: N815
    sessionId: str | None = Field(  # noqa: N815
        None, description="The issuance session (access grant): the same for every credential one wallet got with it."
    )
    userId: str | None = None  # noqa: N815


class IssuedCredentialPage(BaseModel):
    data: list[IssuedCredentialOut]
    nextCursor: str | None = None  # noqa: N815


def _input(body: UserBody) -> UserInput:
    subject = body.authenticationProvider
    return UserInput(
        claims=body.claims,
        authentication_provider=None if subject is None else SubjectInput(subject.providerId, subject.subjectId),
    )


def render_user(view: UserView) -> dict[str, Any]:
    """The API form of a user (reference §5.2)."""
    user = view.user
    body: dict[str, Any] = {"id": user.id, "claims": user.claims}
    if user.authentication_provider_id is not None and user.subject_id is not None:
        subject: dict[str, Any] = {"providerId": user.authentication_provider_id, "subjectId": user.subject_id}
        if view.provider_url is not None:
            subject["url"] = view.provider_url
        body["authenticationProvider"] = subject
    return body


def render_issued_credential(record: IssuedCredentialRecord) -> dict[str, Any]:
    """The record of an issued credential: the format's details, then the format-neutral fields."""
    return {
        **record.details,
        "id": record.id,
        "type": record.credential_type,
        "profile": record.profile,
        "format": record.format,
        "credentialConfigurationId": record.configuration_id,
        "issuedDate": record.issued_at,
        "validFrom": record.valid_from,
        "validUntil": record.valid_until,
        "status": record.status,
        "offerId": record.offer_id,
        "sessionId": record.session_id,
        "userId": record.user_id,
    }


@router.post("", status_code=201, response_model=UserOut, response_model_exclude_none=True, summary="Create a user")
async def create_user(body: UserBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_user(await container.users.create_as(principal, _input(body)))


@router.get("", response_model=UserPage, response_model_exclude_none=True, summary="List users")
async def list_users(
    principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    page = await container.users.list_as(principal, limit=page_params.limit, after=page_params.after)
    return render_page(page, [render_user(v) for v in page.items])


@router.post(
    "/search",
    response_model=UserPage,
    response_model_exclude_none=True,
    summary="Search users",
    description="Exact match on every given field of `claims` (an object matches an object with each of its keys "
    "matching, other keys allowed; arrays match element by element; other values must be equal and of the same JSON "
    "type) and of `authenticationProvider`; paged with `limit` and `cursor` in the body.",
)
async def search_users(body: UserSearchBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    subject = body.authenticationProvider
    search = UserSearch(
        claims=body.claims,
        provider_id=None if subject is None else subject.providerId,
        subject_id=None if subject is None else subject.subjectId,
    )
    after = decode_cursor(body.cursor) if body.cursor else None
    page = await container.users.search_as(principal, search, limit=body.limit, after=after)
    return render_page(page, [render_user(v) for v in page.items])


@router.get("/{id}", response_model=UserOut, response_model_exclude_none=True, summary="Retrieve a user")
async def get_user(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_user(await container.users.get_as(principal, id))


@router.put(
    "/{id}",
    response_model=UserOut,
    response_model_exclude_none=True,
    summary="Replace a user's claims and authentication provider subject",
)
async def replace_user(id: IdParam, body: UserBody, principal: PrincipalDep, container: ContainerDep) -> Any:
    return render_user(await container.users.replace_as(principal, id, _input(body)))


@router.delete(
    "/{id}",
    status_code=204,
    summary="Delete a user and its persisted claims (credentials issued to it stay valid)",
    response_class=Response,
)
async def delete_user(id: IdParam, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.users.delete_as(principal, id)
    return Response(status_code=204)


@router.get(
    "/{userId}/credentials",
    response_model=IssuedCredentialPage,
    response_model_exclude_none=True,
    summary="List the credentials issued to a user (metadata only, no claim values)",
)
async def list_user_credentials(
    id: UserIdParam, principal: PrincipalDep, container: ContainerDep, page_params: Annotated[PageParams, Depends()]
) -> Any:
    page = await container.users.credentials_as(principal, id, limit=page_params.limit, after=page_params.after)
    return render_page(page, [render_issued_credential(r) for r in page.items])
