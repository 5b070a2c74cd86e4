"""The reference platform's path aliases (``web/aliases.py``), resolved before routing."""

from __future__ import annotations

import pytest

from openissuer.web.aliases import PathAliases, resolve_alias


@pytest.mark.parametrize(
    ("method", "path", "canonical"),
    [
        ("GET", "/core/v1/openid/iacas", "/v1/openid/iacas"),
        ("POST", "/core/v1/openid/credential", "/v1/openid/credential"),
        ("GET", "/core/.well-known/openid-credential-issuer", "/.well-known/openid-credential-issuer"),
        ("POST", "/oauth/token", "/v1/auth/token"),
        ("POST", "/core/oauth/token", "/v1/auth/token"),
        ("GET", "/oauth/token", None),
        ("GET", "/core", None),
        ("GET", "/core/", None),
        ("GET", "/corex/v1/openid/iacas", None),
        ("GET", "/v1/openid/iacas", None),
        ("POST", "/v1/oauth/token", None),
    ],
)
def test_resolve_alias(method: str, path: str, canonical: str | None) -> None:
    assert resolve_alias(method, path) == canonical


async def test_the_raw_path_keeps_its_encoding() -> None:
    seen: list[dict[str, object]] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(scope)

    aliases = PathAliases(app)  # type: ignore[arg-type]
    scope = {"type": "http", "method": "GET", "path": "/core/v1/users/a b", "raw_path": b"/core/v1/users/a%20b"}
    await aliases(scope, None, None)  # type: ignore[arg-type]
    assert seen[-1]["path"] == "/v1/users/a b" and seen[-1]["raw_path"] == b"/v1/users/a%20b"
    await aliases({**scope, "path": "/v1/users", "raw_path": b"/v1/users"}, None, None)  # type: ignore[arg-type]
    assert seen[-1]["path"] == "/v1/users"
    await aliases({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen[-1] == {"type": "lifespan"}
