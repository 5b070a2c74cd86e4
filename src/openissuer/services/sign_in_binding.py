"""The browser a sign-in belongs to: a cookie set where the Authorization Code flow starts (``/authorize``) and
checked where the browser comes back (the identity provider's callback, the interaction hook's return).

Without it, whoever opens a sign-in's callback URL first finishes it: a leaked callback URL (a log, a referrer, a
shared screen) let another client finish the victim's sign-in and, with an interaction hook, receive the hook's
session token holding the victim's claims; and a provider link an attacker started could be finished in a victim's
browser. With it, the callback and the hook's return are refused in any browser that did not start the sign-in.

Nothing is stored: the cookie's name and value are MACs of the sign-in session's id under keys derived from the
master key, so every worker can check them. One cookie per sign-in (its name is the session's), so two sign-ins in
one browser do not disturb each other; it lives as long as the sign-in (``Max-Age``) and is cleared when it ends.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from openissuer.crypto.base64url import encode_base64url
from openissuer.errors import AuthorizationPageError
from openissuer.ports.secrets import SecretBox

SECURE_PREFIX = "__Host-"  # Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2): no sibling host can set or read it
NAME_PREFIX = "oi-sign-in-"


@dataclass(frozen=True)
class BrowserCookie:
    """A cookie to set (``max_age`` seconds) or, with ``max_age`` 0, to clear; ``name`` without the secure prefix,
    which the web layer adds when the cookie can be ``Secure``."""

    name: str
    value: str
    max_age: int


def uses_secure_cookies(issuer: str) -> bool:
    """Whether the sign-in cookie is ``Secure`` with the ``__Host-`` prefix: whenever the issuer's URL is https (TLS
    may end at a proxy in front; the browser uses https all the same)."""
    return issuer.startswith("https://")


class SignInBinding:
    """Make and check the cookie that ties a sign-in session to its browser."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box

    def cookie(self, tenant_id: str, session_id: str, max_age: int) -> BrowserCookie:
        """The cookie to set when the sign-in starts."""
        name, value = self._expected(tenant_id, session_id)
        return BrowserCookie(name, value, max_age)

    def cleared(self, tenant_id: str, session_id: str) -> BrowserCookie:
        """The same cookie, expired: the sign-in is over."""
        name, _ = self._expected(tenant_id, session_id)
        return BrowserCookie(name, "", 0)

    def verify(self, tenant_id: str, session_id: str, cookies: Mapping[str, str], *, secure: bool) -> None:
        """Raise AuthorizationPageError unless the browser holds the sign-in's cookie: under the ``__Host-`` name
        when the issuer uses https (a cookie without the prefix could have been planted by a sibling host or over
        plain http), under the bare name on a plain-http development issuer, which cannot set ``Secure`` cookies."""
        name, value = self._expected(tenant_id, session_id)
        held = cookies.get(SECURE_PREFIX + name if secure else name) or ""
        if not hmac.compare_digest(held.encode(), value.encode()):
            raise AuthorizationPageError(
                "This sign-in was started in another browser",
                "Finish the sign-in in the browser where it started, or start again from your wallet.",
                detail="the sign-in's browser cookie is missing or wrong",
            )

    def _expected(self, tenant_id: str, session_id: str) -> tuple[str, str]:
        data = f"{tenant_id}\x00{session_id}".encode()
        name = NAME_PREFIX + encode_base64url(self._box.mac("sign-in-cookie-name", data)[:12])
        return name, encode_base64url(self._box.mac("sign-in-cookie-value", data))


@dataclass(frozen=True)
class SignInRedirect:
    """Where a step of the sign-in sends the browser, and the sign-in's cookie to set or clear on the way."""

    location: str
    cookie: BrowserCookie | None = None
