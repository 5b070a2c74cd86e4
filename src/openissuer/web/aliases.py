"""Path aliases of the reference platform, resolved before anything else sees the request.

- ``/core/<path>`` is ``/<path>``: the reference serves some public paths with and without a ``/core`` prefix
  (``/core/v1/openid/iacas``, ``/core/v1/oauth/authentication/callback``, ``/core/v2/credentials/...``; reference
  §1.1 "Treat /core as an alias"), and older integrations use it for every path.
- ``POST /oauth/token`` is ``POST /v1/auth/token``: the reference's management token endpoint (§1.2) lives at
  ``<auth_url>/oauth/token``; pointing ``auth_url`` at openissuer then works unchanged.

The request continues with the canonical path, so routing, the wallet hot path, logs and metrics (which record
route templates) all see one path per endpoint. The cost on every other request is one prefix test.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

CORE_PREFIX = "/core"
MANAGEMENT_TOKEN_ALIAS = "/oauth/token"
MANAGEMENT_TOKEN_PATH = "/v1/auth/token"


def resolve_alias(method: str, path: str) -> str | None:
    """Return the canonical path of an aliased ``path``, or None when it is not an alias."""
    canonical = None
    if path.startswith(CORE_PREFIX):
        rest = path[len(CORE_PREFIX) :]
        if not rest.startswith("/") or len(rest) == 1:
            return None
        canonical = path = rest
    if path == MANAGEMENT_TOKEN_ALIAS and method == "POST":
        return MANAGEMENT_TOKEN_PATH
    return canonical


class PathAliases:
    """Rewrite aliased paths (see the module docstring) to their canonical form, then call ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            canonical = resolve_alias(scope["method"], scope["path"])
            if canonical is not None:
                raw = scope.get("raw_path") or b""
                only_prefix = canonical == scope["path"][len(CORE_PREFIX) :] and raw.startswith(CORE_PREFIX.encode())
                # The raw path keeps its percent-encoding when only the prefix went.
                raw = raw[len(CORE_PREFIX) :] if only_prefix else canonical.encode()
                scope = {**scope, "path": canonical, "raw_path": raw}
        await self.app(scope, receive, send)
