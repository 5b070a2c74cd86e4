"""The error responses of the OpenAPI document: the statuses each operation really answers, with the error schema.

FastAPI documents a ``422`` ``HTTPValidationError`` on every operation with parameters; openissuer never sends it
(validation errors are ``400`` with the management error body, ``web/errors.py``). This replaces it, once, when the
document is first built:

- management operations: ``400`` (validation), ``401`` and ``403`` (when they need a token), ``404`` (when the
  path names a resource), ``409`` (create and replace), ``413`` (with a body), each ``{code, message, details}``;
- wallet-facing operations: ``400`` / ``401`` / ``403`` / ``404`` / ``429`` as ``{error, error_description}`` where
  the operation can answer them (its own ``responses`` say which), the body schema added;
- ``429`` with ``Retry-After`` where a rate limit applies (``RATE_LIMITED_PATHS``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI

from openissuer.web.strict_input import MANAGEMENT_TOKEN_PATH, is_wallet_path

MANAGEMENT_ERROR = "ManagementError"
OAUTH_ERROR = "OAuthError"
_SCHEMAS: dict[str, Any] = {
    MANAGEMENT_ERROR: {
        "type": "object",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "examples": ["BadRequest"]},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["location", "param", "msg"],
                    "properties": {
                        "location": {"type": "string"},
                        "param": {"type": "string"},
                        "msg": {"type": "string"},
                        "value": {},
                    },
                },
            },
            "error": {"type": "string", "description": "RFC 6749 error code (the management token endpoint)"},
            "error_description": {"type": "string"},
        },
    },
    OAUTH_ERROR: {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
    },
}
_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Missing, invalid or expired credentials",
    403: "Not allowed for this client's role",
    404: "No such resource in the caller's tenant",
    409: "Conflicts with an existing resource",
    413: "Request body too large",
    429: "Too many requests; retry after Retry-After seconds",
}
_WRITE_METHODS = frozenset({"post", "put", "patch"})


def _content(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _management_statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [400]
    if operation.get("security") or path == MANAGEMENT_TOKEN_PATH:
        statuses += [401] if path == MANAGEMENT_TOKEN_PATH else [401, 403]
    if "{" in path:
        statuses.append(404)
    if method in ("post", "put") and path != MANAGEMENT_TOKEN_PATH:
        statuses.append(409)
    if method in _WRITE_METHODS:
        statuses.append(413)
    return statuses


def document_error_responses(spec: dict[str, Any], rate_limited: Iterable[str] = ()) -> dict[str, Any]:
    """Rewrite the error responses of ``spec`` in place (see the module docstring) and return it."""
    limited = frozenset(rate_limited)
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components.update(_SCHEMAS)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            responses.pop("422", None)
            wallet = is_wallet_path(path)
            schema = OAUTH_ERROR if wallet else MANAGEMENT_ERROR
            statuses = [int(s) for s in responses if s.isdigit() and int(s) >= 400]
            if not wallet:
                statuses += _management_statuses(path, method, operation)
            elif method in _WRITE_METHODS:
                statuses += [400, 413]
            if path in limited:
                statuses.append(429)
            for status in sorted(set(statuses)):
                entry = responses.setdefault(str(status), {"description": _DESCRIPTIONS.get(status, "Error")})
                if status == 413 and wallet:
                    entry["content"] = _content(MANAGEMENT_ERROR)  # the size limit answers before any route
                elif not (wallet and entry.get("content", {}).get("text/html")):
                    entry["content"] = _content(schema)
                if status == 429:
                    entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return spec


def install_error_responses(app: FastAPI, rate_limited: Iterable[str] = ()) -> None:
    """Make ``app.openapi()`` return the document with the real error responses."""
    build: Callable[[], dict[str, Any]] = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not documented:
            documented.append(document_error_responses(build(), rate_limited))
        return documented[0]

    app.openapi = openapi  # type: ignore[method-assign]
