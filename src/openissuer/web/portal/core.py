"""The portal's request plumbing: the session cookie, CSRF tokens, templates, errors next to their fields, paging.

Every portal route depends on ``current`` (GET) or ``submitted`` (POST): the first resumes the session from its
cookie (else a redirect to sign-in), the second also checks the form's CSRF token against the session's, in
constant time (OWASP CSRF Prevention: synchronizer token pattern), before the route reads anything else. Role checks
are the services' own (``services/access.py``): the portal only hides controls a role cannot use.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode, urlsplit

import pydantic
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData

from openissuer.bootstrap import Container
from openissuer.domain.api_clients import ManagementPrincipal, Role
from openissuer.domain.pages import MAX_PAGE_LIMIT, Page, PageKey
from openissuer.errors import ErrorDetail, ManagementError, ValidationError
from openissuer.services.access import PLATFORM_ADMINS
from openissuer.services.portal_sessions import ActiveSession
from openissuer.web.errors import is_secret_param
from openissuer.web.pagination import decode_cursor, encode_cursor

PREFIX = "/portal"
SESSION_COOKIE = "openissuer_portal"
SIGN_IN_COOKIE = "openissuer_portal_sign_in"  # the sign-in form's CSRF token (double submit: no session yet)
CSRF_FIELD = "csrf_token"
PAGE_SIZE = 25
# Form fields that carry a secret: never put back into a form or a page, whatever happens to the post.
SECRET_FORM_FIELDS = frozenset({"clientSecret", "apiKey", "oauthClientSecret", "client_secret"})
Body = TypeVar("Body", bound=pydantic.BaseModel)

# Pages may load the portal's own stylesheet and script and show data: images (QR codes); nothing else.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_templates = Environment(
    loader=PackageLoader("openissuer.web.portal", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=ChainableUndefined,  # an absent optional member (e.g. stateOrProvinceName) is empty
    trim_blocks=True,
    lstrip_blocks=True,
)

# (key, label, path, the roles the entry is shown to: None for every role). Hiding an entry is a courtesy; the
# service behind the page is what refuses a role.
NAVIGATION: tuple[tuple[str, str, str, frozenset[Role] | None], ...] = (
    ("overview", "Overview", "", None),
    ("configurations", "Credential configurations", "/configurations", None),
    ("pki", "IACAs and signers", "/iacas", None),
    ("offers", "Offers", "/offers", None),
    ("users", "Users", "/users", None),
    ("status", "Status lists", "/status-lists", None),
    ("access", "Sign-in and wallets", "/authentication", None),
    ("claims", "Claims sources and hook", "/claims-sources", None),
    ("cwt", "CWT tools", "/cwt", None),
    ("events", "Events", "/events", None),
    ("webhooks", "Webhooks", "/webhooks", None),
    ("clients", "API clients", "/api-clients", None),
    ("settings", "Settings", "/settings", None),
    ("tenants", "Tenants", "/tenants", PLATFORM_ADMINS),
)


def navigation_for(principal: ManagementPrincipal | None) -> list[tuple[str, str, str]]:
    """The navigation entries shown to ``principal``."""
    if principal is None:
        return []
    return [(key, label, path) for key, label, path, roles in NAVIGATION if roles is None or principal.has_any(roles)]


def portal_router() -> APIRouter:
    """A router of portal pages: the prefix is on the router that declares the routes, so that the route a request
    matched (``scope["route"]``, which the request log and the metrics label requests with) carries it."""
    return APIRouter(prefix=PREFIX, include_in_schema=False)


class SignInRequiredError(Exception):
    """No live session: the browser is sent to sign in, then back to ``next``."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path


class CsrfRefusedError(Exception):
    """A form post without the session's CSRF token."""


@dataclass
class Portal:
    """One portal request: the request, the container, and the signed-in session."""

    request: Request
    container: Container
    session: ActiveSession
    form: FormData | None = None

    @property
    def principal(self) -> ManagementPrincipal:
        return self.session.principal

    def can(self, allowed: frozenset[Role]) -> bool:
        """Tell whether the signed-in client's roles permit operations guarded by ``allowed``."""
        return self.principal.has_any(allowed)

    def field(self, name: str) -> str:
        """Return a submitted text field, stripped ("" when absent)."""
        assert self.form is not None
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def optional(self, name: str) -> str | None:
        """Return a submitted text field, or None when empty."""
        return self.field(name) or None

    def checked(self, name: str) -> bool:
        """Tell whether a checkbox was ticked."""
        assert self.form is not None
        return self.form.get(name) is not None

    def echo(self) -> dict[str, str]:
        """The submitted text fields to show again in the form: never a secret, never the CSRF token."""
        form: Mapping[str, Any] = self.form or {}
        return {k: v for k, v in form.items() if isinstance(v, str) and k not in SECRET_FORM_FIELDS and k != CSRF_FIELD}


async def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def current(request: Request) -> Portal:
    """Resume the session of a GET request; raise SignInRequiredError without one."""
    container = await _container(request)
    session = await container.portal_sessions.resume(request.cookies.get(SESSION_COOKIE))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequiredError(target)
    return Portal(request, container, session)


def from_this_origin(request: Request) -> bool:
    """Tell whether a form post may have come from the portal's own pages, by the browser's ``Sec-Fetch-Site``
    (Fetch Metadata): refused when the browser says another site or another origin of the same site posted it
    (a sibling subdomain, which ``SameSite=Strict`` does not stop: it could plant the sign-in form's cookie and sign
    the victim in as the attacker). Requests without the header (older browsers, other clients) pass: the CSRF
    tokens are the defence there."""
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


async def submitted(request: Request) -> Portal:
    """Resume the session of a form post and check where it came from and its CSRF token; raise CsrfRefusedError
    when either does not match."""
    container = await _container(request)
    if not from_this_origin(request):
        raise CsrfRefusedError
    session = await container.portal_sessions.resume(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise SignInRequiredError(request.url.path)
    form = await request.form()
    refuse_nul(form)
    token = form.get(CSRF_FIELD)
    if not session.csrf_matches(token if isinstance(token, str) else None):
        raise CsrfRefusedError
    return Portal(request, container, session, form)


def refuse_nul(form: FormData) -> None:
    """Refuse a form with a NUL character in a field's name or text (no browser form sends one; PostgreSQL refuses
    it in any text value): a 400 page, before anything is read or stored. The JSON API refuses it at the edge."""
    for name, value in form.multi_items():
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            shown = name.replace("\x00", "?")[:40]
            raise ValidationError(
                "Validation Error", details=[ErrorDetail("body", shown, "must not contain a NUL character")]
            )


CurrentPortal = Annotated[Portal, Depends(current)]
SubmittedPortal = Annotated[Portal, Depends(submitted)]


@dataclass
class FormErrors:
    """A service error shown on a page: a message at the top and each detail next to the field it names."""

    message: str | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        error: ManagementError,
        *,
        aliases: Mapping[str, str] | None = None,
        nested: Mapping[str, str] | None = None,
    ) -> FormErrors:
        """Group the error's details by field (``aliases`` maps an API parameter to the form's field name;
        ``nested`` maps a parameter's prefix, e.g. ``redirectUris`` for ``redirectUris.2``, to the field that
        holds the whole of it, and keeps the rest of the parameter in the message)."""
        errors = cls(message=error.description)
        for detail in error.details:
            name = (aliases or {}).get(detail.param)
            message = _describe(detail)
            if name is None:
                name = detail.param
                for prefix, target in sorted((nested or {}).items(), key=lambda item: -len(item[0])):
                    if detail.param.startswith(prefix + "."):
                        name, message = target, f"{detail.param[len(prefix) + 1 :]}: {message}"
                        break
                    if detail.param == prefix:
                        name = target
                        break
            errors.fields.setdefault(name, []).append(message)
        return errors

    def __bool__(self) -> bool:
        return self.message is not None or bool(self.fields)

    def get(self, name: str) -> list[str]:
        """Return the messages about one field."""
        return self.fields.get(name, [])


def _describe(detail: ErrorDetail) -> str:
    if detail.value is None or is_secret_param(detail.param) or isinstance(detail.value, dict | list):
        return detail.msg
    return f"{detail.msg} (got {str(detail.value)[:80]!r})"


def parse_body(model: type[Body], data: Mapping[str, Any]) -> Body:
    """Read a form, shaped as the API's JSON body, with the API's own body model (the same edge rules); raise
    ValidationError with one detail per problem, named like the API names them."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        details = []
        for item in exc.errors():
            param = ".".join(str(part) for part in item["loc"] if part not in _UNION_TAGS)
            value = item.get("input")
            shown = value if isinstance(value, str | int | float | bool) and not is_secret_param(param) else None
            details.append(ErrorDetail("body", param, str(item["msg"]), shown))
        raise ValidationError("Validation Error", details=details) from None


# Tags of the API's discriminated unions, which pydantic puts in an error's location: a claims source's
# ``authorization.oauth-client-credentials.clientId`` is ``authorization.clientId`` to the API's callers.
_UNION_TAGS = frozenset({"api-key", "oauth-client-credentials"})


def whole_number(text: str) -> int | None:
    """The value of a field holding a whole number, or None: only ASCII digits, at most 12 of them (``int`` would
    take "²" for a digit and refuse, or spend long on, a number of thousands of digits)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def words(text: str) -> list[str]:
    """The names in a field that lists them separated by spaces, commas or lines."""
    return [word for word in re.split(r"[\s,]+", text) if word]


def lines(text: str) -> list[str]:
    """The non-empty lines of a text area, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def json_object(portal: Portal, name: str, param: str | None = None) -> dict[str, Any]:
    """A text area holding a JSON object ({} when empty); raise ValidationError naming ``param`` otherwise."""
    raw = portal.field(name)
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise field_error(param or name, f"must be a JSON object ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError):  # a number of more than 4300 digits; nesting deeper than the stack
        raise field_error(param or name, "must be a JSON object of ordinary size and depth") from None
    if not isinstance(parsed, dict):
        raise field_error(param or name, 'must be a JSON object, e.g. {"name": "value"}')
    return parsed


_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL)


def pem_blocks(text: str) -> list[str]:
    """The PEM certificates in a text area, in order; anything else in it is kept as one more entry, so that the
    service reports it as not a certificate instead of the portal dropping it."""
    blocks = _PEM_BLOCK.findall(text)
    rest = _PEM_BLOCK.sub("", text).strip()
    return [*blocks, rest] if rest else blocks


def field_error(param: str, msg: str, value: object = None) -> ValidationError:
    """A validation error the portal found while reading a form (before any service call)."""
    return ValidationError("Validation Error", details=[ErrorDetail("body", param, msg, value)])


def render(
    portal: Portal | None,
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    section: str = "",
) -> HTMLResponse:
    """Render a page with the layout's context: navigation, the signed-in client, the CSRF token."""
    values: dict[str, Any] = {
        "prefix": PREFIX,
        "navigation": navigation_for(None if portal is None else portal.principal),
        "section": section,
        "portal": portal,
        "principal": None if portal is None else portal.principal,
        "csrf_token": None if portal is None else portal.session.csrf_token,
        "notice": _notice(request),
        "errors": FormErrors(),
        "values": {},
    }
    values.update(context)
    body = _templates.get_template(template).render(values)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


NOTICES = {
    "created": "Created.",
    "saved": "Saved.",
    "deleted": "Deleted.",
    "activated": "Activated.",
    "deactivated": "Deactivated.",
    "revoked": "Revoked.",
    "suspended": "Suspended.",
    "reinstated": "Reinstated.",
    "redelivered": "Queued for redelivery.",
    "signed-out": "You have signed out.",
    "expired": "Your session has ended. Sign in again.",
}


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


def redirect(path: str, done: str | None = None) -> RedirectResponse:
    """See other (303): after a successful post, the browser gets the page with a GET (no resubmission)."""
    target = PREFIX + path + (f"?{urlencode({'done': done})}" if done else "")
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


def safe_next(value: str | None) -> str:
    """Return ``value`` if it is a path inside the portal, else the overview (no open redirect: no scheme, no host,
    no ``//`` or backslash that browsers read as another host)."""
    default = PREFIX + "/"
    if not value or "\\" in value or any(ord(c) < 0x21 for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return default
    if parts.path != PREFIX and not parts.path.startswith(PREFIX + "/"):
        return default
    return value


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Paging:
    """``limit`` and ``cursor`` of a list page, read like the API reads them (``web/pagination.py``)."""

    limit: int
    after: PageKey | None
    cursor: str | None

    @classmethod
    def of(cls, request: Request, *, default: int = PAGE_SIZE) -> Paging:
        """Read the query; raise ValidationError naming ``cursor`` or ``limit`` when they are not valid."""
        raw_limit = request.query_params.get("limit")
        limit = default
        if raw_limit is not None:
            parsed = whole_number(raw_limit)
            if parsed is None or not 1 <= parsed <= MAX_PAGE_LIMIT:
                raise ValidationError(
                    "Validation Error",
                    details=[ErrorDetail("query", "limit", f"must be 1-{MAX_PAGE_LIMIT}", raw_limit[:20])],
                )
            limit = parsed
        cursor = request.query_params.get("cursor") or None
        return cls(limit=limit, after=decode_cursor(cursor) if cursor else None, cursor=cursor)

    def next_link(self, request: Request, page: Page[Any], **select: str) -> str | None:
        """Return the URL of the next page, or None on the last. ``select`` sets query parameters that name which of
        a page's lists the cursor belongs to (``profile``), replacing the current request's."""
        if page.next_key is None:
            return None
        query = {k: v for k, v in request.query_params.items() if k not in {"cursor", "done", *select}}
        query.update(select)
        query["cursor"] = encode_cursor(page.next_key)
        return f"{request.url.path}?{urlencode(query)}"


def error_page(portal: Portal | None, request: Request, error: ManagementError) -> HTMLResponse:
    """A page for an error that has no form to go back to (an unknown id, a role that may not read it)."""
    return render(portal, request, "error.html", {"title": error.description, "error": error}, status=error.status)


def format_time(value: datetime | None) -> str:
    """A moment as the portal shows it: UTC, to the second."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


_templates.filters["time"] = format_time
