"""A real OpenID Connect provider in its own process, for Authorization Code flow tests.

The provider is ``oidc-provider-mock`` (Flask + Authlib): discovery, JWKS, an authorization endpoint with an
HTML login form, a token endpoint issuing RS256-signed ID tokens, userinfo and dynamic client registration.
This module runs it on 127.0.0.1 in a subprocess (``python tests/oi_idp.py <config>``) and adds, inside that
process, what the tests need on top of it:

* PKCE (RFC 7636) enforcement, which the package itself does not do: a ``code_verifier`` must match the
  ``code_challenge`` (S256 or plain) of the authorization request, a verifier without a challenge is refused,
  and with ``require_pkce=True`` an authorization request without a challenge is refused;
* ``state`` on the ``access_denied`` redirect (the package leaves it out);
* fault injection for failure-mode tests (canned responses, delays, authorization errors, tampered ID tokens);
* a log of the requests it received, so a test can check what the relying party sent.

Typical use::

    with running_idp() as idp:
        client = idp.register_client(["http://127.0.0.1:9/callback"])
        ...  # the relying party builds an authorization URL on idp.authorization_endpoint
        callback_url = await idp.login(http, authorize_url, subject="alice", claims={"given_name": "Alice"})

The issuer is ``http://127.0.0.1:<port>``; the provider derives it from the Host header, so always reach it
through 127.0.0.1, never ``localhost``. Standard claims are released by scope (``profile``: names, birthdate…;
``email``: email, email_verified; ``address``; ``phone``); claims that are not standard are always released.
The signing key is a fresh RSA key per process, published in the JWKS without a ``kid``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import httpx

HOST = "127.0.0.1"
DISCOVERY_PATH = "/.well-known/openid-configuration"
AUTHORIZATION_PATH = "/oauth2/authorize"
TOKEN_PATH = "/oauth2/token"
JWKS_PATH = "/jwks"
USERINFO_PATH = "/userinfo"
REGISTRATION_PATH = "/oauth2/clients"
CONTROL_PATH = "/_oi"  # test-only control endpoints added by this module

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]
SignWith = Literal["provider", "foreign", "none"]
DEFAULT_AUTH_METHOD: ClientAuthMethod = "client_secret_basic"


class IdPLoginError(AssertionError):
    """The provider did not end the login with a redirect (e.g. a 400 page for an unknown client)."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None, text: str = "") -> None:
        super().__init__(f"{message} (status {status_code}, url {url})\n{text[:2000]}")
        self.url = url
        self.status_code = status_code
        self.text = text


@dataclass(frozen=True)
class OIDCClient:
    """A client registered at the provider (RFC 7591); its redirect URIs are matched exactly."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: ClientAuthMethod


class IdP:
    """Handle on an ``oidc-provider-mock`` process; use :func:`running_idp` to get one that is running.

    Options: ``require_registration`` (default True: only registered clients, secrets and auth methods are
    checked, redirect URIs must match; False: any client id, secret and redirect URI is accepted),
    ``require_nonce``, ``require_pkce``, ``issue_refresh_token``, ``token_max_age`` (seconds, access and ID
    token lifetime), ``startup_timeout`` (seconds).
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        require_registration: bool = True,
        require_nonce: bool = False,
        require_pkce: bool = False,
        issue_refresh_token: bool = True,
        token_max_age: int = 3600,
        startup_timeout: float = 20.0,
    ) -> None:
        self.port = port
        self.options: dict[str, Any] = {
            "require_registration": require_registration,
            "require_nonce": require_nonce,
            "require_pkce": require_pkce,
            "issue_refresh_token": issue_refresh_token,
            "token_max_age": token_max_age,
        }
        self.startup_timeout = startup_timeout
        self.metadata: dict[str, Any] = {}
        self.last_log = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    # --- addresses -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the IdP has not been started yet")
        return f"http://{HOST}:{self.port}"

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def discovery_url(self) -> str:
        return self.base_url + DISCOVERY_PATH

    @property
    def authorization_endpoint(self) -> str:
        return self.base_url + AUTHORIZATION_PATH

    @property
    def token_endpoint(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def jwks_uri(self) -> str:
        return self.base_url + JWKS_PATH

    @property
    def userinfo_endpoint(self) -> str:
        return self.base_url + USERINFO_PATH

    @property
    def registration_endpoint(self) -> str:
        return self.base_url + REGISTRATION_PATH

    # --- process lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the provider (again on the same port if it ran before) and wait until discovery answers.

        A restarted provider has a new signing key and has forgotten clients, users, codes and faults.
        """
        if self._process is not None:
            raise RuntimeError("the IdP is already started")
        workdir = Path(tempfile.mkdtemp(prefix="oi-idp-"))
        ready_file = workdir / "ready.json"
        config = {**self.options, "host": HOST, "port": self.port or 0, "ready_file": str(ready_file)}
        env = {**os.environ, "AUTHLIB_INSECURE_TRANSPORT": "1", "PYTHONUNBUFFERED": "1"}
        with (workdir / "idp.log").open("wb") as log:
            # stdin stays open as a lifeline: the child exits when it reaches EOF (this process died).
            self._process = subprocess.Popen(
                [sys.executable, "-W", "ignore", str(Path(__file__).resolve()), json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
            )
        self._workdir = workdir
        try:
            self._wait_ready(ready_file)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, ready_file: Path) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"the IdP exited with {self._process.returncode}:\n{self.log()}")
            if ready_file.exists():
                self.port = int(json.loads(ready_file.read_text())["port"])
                try:
                    response = httpx.get(self.discovery_url, timeout=1)
                    if response.status_code == 200:
                        self.metadata = response.json()
                        return
                except httpx.TransportError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the IdP did not answer within {self.startup_timeout} s:\n{self.log()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the provider: SIGTERM, then SIGKILL after ``timeout`` seconds. Idempotent; keeps the port."""
        process, self._process = self._process, None
        if process is not None:
            try:
                if process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(timeout=timeout)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait(timeout=timeout)
            finally:
                if process.stdin is not None:
                    process.stdin.close()
        if self._workdir is not None:
            self.last_log = self.log()
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        """The provider's output so far (or of its last run once stopped)."""
        if self._workdir is None:
            return self.last_log
        try:
            return (self._workdir / "idp.log").read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> IdP:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- clients and users -----------------------------------------------------------------------

    def register_client(
        self,
        redirect_uris: Iterable[str],
        *,
        token_endpoint_auth_method: ClientAuthMethod = DEFAULT_AUTH_METHOD,
        scope: str | None = None,
    ) -> OIDCClient:
        """Register a client (RFC 7591). The token endpoint then accepts only the given auth method."""
        body: dict[str, Any] = {
            "redirect_uris": list(redirect_uris),
            "token_endpoint_auth_method": token_endpoint_auth_method,
        }
        if scope is not None:
            body["scope"] = scope
        response = httpx.post(self.registration_endpoint, json=body, timeout=10)
        if response.status_code != 201:
            raise RuntimeError(f"client registration failed: {response.status_code} {response.text}")
        data = response.json()
        return OIDCClient(
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            redirect_uris=tuple(data["redirect_uris"]),
            token_endpoint_auth_method=data["token_endpoint_auth_method"],
        )

    def set_user(self, subject: str, claims: Mapping[str, Any]) -> None:
        """Set (replace) the claims of a user; they are released in the ID token and at userinfo."""
        response = httpx.put(self._user_url(subject), json=dict(claims), timeout=10)
        if response.status_code != 204:
            raise RuntimeError(f"setting user {subject!r} failed: {response.status_code} {response.text}")

    def _user_url(self, subject: str) -> str:
        if not subject or "/" in subject:
            raise ValueError("the provider cannot store a subject that is empty or contains '/'")
        return f"{self.base_url}/users/{quote(subject, safe='')}"

    async def login(
        self,
        http: httpx.AsyncClient,
        authorize_url: str,
        *,
        subject: str,
        claims: Mapping[str, Any],
        deny: bool = False,
        max_redirects: int = 10,
    ) -> str:
        """Log ``subject`` in like a browser and return the provider's final redirect (the RP callback URL).

        Sets the user's claims, GETs ``authorize_url`` (following redirects until the provider's login page;
        ``authorize_url`` may also be a relying-party URL that redirects there), then submits the provider's
        login form with the subject (or its "Deny" form when ``deny``). The redirect back to the relying party
        is returned, never followed: it carries ``code`` and ``state``, or ``error`` (and ``state``).
        ``http`` plays the browser: it must reach 127.0.0.1 over the network (not an ASGI transport).
        Raises :class:`IdPLoginError` when the provider answers with an error page instead of a redirect.
        """
        async with httpx.AsyncClient(timeout=10) as admin:
            response = await admin.put(self._user_url(subject), json=dict(claims))
            if response.status_code != 204:
                raise RuntimeError(f"setting user {subject!r} failed: {response.status_code} {response.text}")

        url = authorize_url
        for _ in range(max_redirects + 1):
            response = await http.get(url, follow_redirects=False)
            if not response.is_redirect:
                break
            target = urljoin(url, response.headers["location"])
            if self._at_idp(url) and not self._at_idp(target):
                return target  # the provider answered at once (an error redirect, typically)
            url = target
        else:
            raise IdPLoginError("too many redirects before the login page", url=url)

        if not self._at_idp(url) or response.status_code != 200:
            raise IdPLoginError("no login page", url=url, status_code=response.status_code, text=response.text)
        action, data = _login_form(response.text, url, subject=subject, deny=deny)
        response = await http.post(action, data=data, follow_redirects=False)
        if not response.is_redirect:
            raise IdPLoginError(
                "the login form did not redirect", url=action, status_code=response.status_code, text=response.text
            )
        return urljoin(action, response.headers["location"])

    def _at_idp(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme == "http" and parts.hostname in (HOST, "localhost") and parts.port == self.port

    # --- failure modes ---------------------------------------------------------------------------

    def fail(
        self,
        path: str,
        status: int = 500,
        *,
        json_body: Any = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        times: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer requests to ``path`` (a path or a URL of the provider) with a canned response.

        ``json_body`` (sent as JSON) or ``body`` (text) and ``headers`` make the response; ``method``
        restricts it to one HTTP method; ``times`` limits how often it applies (None: until cleared);
        ``delay`` waits before answering. E.g. ``idp.fail(idp.token_endpoint, 503)`` or
        ``idp.fail(idp.jwks_uri, 200, json_body={"keys": [other_key]})``.
        """
        self._add_fault(
            {
                "kind": "response",
                "path": _path(path),
                "method": method,
                "times": times,
                "status": status,
                "json": json_body,
                "body": body,
                "headers": dict(headers or {}),
                "delay": delay,
            }
        )

    def delay(self, path: str, seconds: float, *, method: str | None = None, times: int | None = None) -> None:
        """Make the provider wait ``seconds`` before handling requests to ``path`` normally (a slow IdP)."""
        self._add_fault(
            {
                "kind": "response",
                "path": _path(path),
                "method": method,
                "times": times,
                "status": None,
                "delay": seconds,
            }
        )

    def fail_authorization(
        self, error: str = "server_error", description: str | None = None, *, times: int | None = None
    ) -> None:
        """Make the authorization endpoint redirect back with ``error`` (and ``state``) instead of a login page.

        Applies only to authorization requests the provider accepts (known client, registered redirect URI).
        """
        self._add_fault({"kind": "authorization_error", "error": error, "description": description, "times": times})

    def tamper_id_token(
        self,
        *,
        claims: Mapping[str, Any] | None = None,
        remove: Iterable[str] = (),
        sign_with: SignWith = "provider",
        times: int | None = None,
    ) -> None:
        """Alter the ID tokens the token endpoint issues: override ``claims`` (e.g. nonce, aud, iss, exp),
        drop the claims in ``remove``, and sign again with the provider's key (``"provider"``), a key that is
        not in the JWKS (``"foreign"``) or not at all (``"none"``: ``alg`` none, empty signature).
        """
        self._add_fault(
            {
                "kind": "id_token",
                "claims": dict(claims or {}),
                "remove": list(remove),
                "sign_with": sign_with,
                "times": times,
            }
        )

    def clear_faults(self) -> None:
        httpx.delete(f"{self.base_url}{CONTROL_PATH}/faults", timeout=10).raise_for_status()

    def _add_fault(self, fault: dict[str, Any]) -> None:
        httpx.post(f"{self.base_url}{CONTROL_PATH}/faults", json=fault, timeout=10).raise_for_status()

    # --- what the provider received --------------------------------------------------------------

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The requests received so far, oldest first, optionally only those to ``path`` (a path or URL).

        Each is ``{"method", "path", "query", "form", "json", "auth_scheme", "basic_username"}``
        (``query`` and ``form`` map each name to its first value; form bodies include secrets as sent).
        """
        response = httpx.get(f"{self.base_url}{CONTROL_PATH}/requests", timeout=10)
        response.raise_for_status()
        records: list[dict[str, Any]] = response.json()
        if path is not None:
            records = [r for r in records if r["path"] == _path(path)]
        return records

    def clear_requests(self) -> None:
        httpx.delete(f"{self.base_url}{CONTROL_PATH}/requests", timeout=10).raise_for_status()


@contextmanager
def running_idp(port: int | None = None, **options: Any) -> Iterator[IdP]:
    """Run a provider for the duration of the block; always stopped (terminate, then kill) on exit.

    In a pytest fixture: ``with running_idp() as idp: yield idp``. ``options`` are those of :class:`IdP`.
    """
    idp = IdP(port, **options)
    idp.start()
    try:
        yield idp
    finally:
        idp.stop()


# --- helpers for tests -----------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """Return a fresh ``(code_verifier, S256 code_challenge)``."""
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    return verifier, _s256(verifier)


def query_params(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (first value of each)."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _path(path_or_url: str) -> str:
    return urlsplit(path_or_url).path or "/"


def _add_query(url: str, params: Mapping[str, str | None]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


class _FormParser(HTMLParser):
    """Collects the forms of a page: action, method, named inputs and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {
                "action": attributes.get("action", ""),
                "method": attributes.get("method", "get").lower(),
                "inputs": {},
                "buttons": [],
            }
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "button"):
            name = attributes.get("name")
            kind = attributes.get("type", "submit" if tag == "button" else "text").lower()
            if kind == "submit":
                self._form["buttons"].append((name, attributes.get("value", "")))
            elif name:
                self._form["inputs"][name] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _login_form(page: str, page_url: str, *, subject: str, deny: bool) -> tuple[str, dict[str, str]]:
    """Find the login (or deny) form on the provider's page; return where to post it and what."""
    parser = _FormParser()
    parser.feed(page)
    for form in parser.forms:
        if form["method"] != "post":
            continue
        data = dict(form["inputs"])
        if deny:
            if ("action", "deny") not in form["buttons"]:
                continue
            data["action"] = "deny"
        else:
            if "sub" not in data:
                continue
            data["sub"] = subject
        return urljoin(page_url, form["action"] or page_url), data
    raise IdPLoginError("no login form found on the provider's page", url=page_url, status_code=200, text=page)


# --- the provider process (runs as ``python tests/oi_idp.py <json config>``) ------------------------

_PKCE_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def _serve(config: dict[str, Any]) -> None:  # pragma: no cover - runs in the child process
    from datetime import timedelta

    import flask
    import oidc_provider_mock
    import werkzeug.serving
    from joserfc import jwk, jwt

    app = oidc_provider_mock.app(
        require_client_registration=config["require_registration"],
        require_nonce=config["require_nonce"],
        issue_refresh_token=config["issue_refresh_token"],
        access_token_max_age=timedelta(seconds=config["token_max_age"]),
    )
    require_pkce: bool = config["require_pkce"]
    lock = threading.Lock()
    faults: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    challenges: dict[str, tuple[str, str] | None] = {}  # issued code -> (challenge, method) or None
    foreign_key: list[jwk.RSAKey] = []

    def take_fault(kind: str, path: str | None = None, method: str | None = None) -> dict[str, Any] | None:
        with lock:
            for fault in faults:
                if fault["kind"] != kind:
                    continue
                if path is not None and fault.get("path") != path:
                    continue
                if fault.get("method") and method is not None and fault["method"].upper() != method:
                    continue
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        faults.remove(fault)
                return dict(fault)
        return None

    def oauth_error(status: int, error: str, description: str) -> flask.Response:
        response = flask.jsonify({"error": error, "error_description": description})
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        return response

    def error_redirect(error: str, description: str | None) -> flask.Response:
        args = flask.request.args
        target = _add_query(
            args["redirect_uri"], {"error": error, "error_description": description, "state": args.get("state")}
        )
        return flask.redirect(target, 302)

    @app.before_request
    def before() -> flask.typing.ResponseReturnValue | None:
        request = flask.request
        if request.path.startswith(CONTROL_PATH):
            return None
        auth = request.authorization
        record = {
            "method": request.method,
            "path": request.path,
            "query": request.args.to_dict(),
            "form": request.form.to_dict(),
            "json": request.get_json(silent=True),
            "auth_scheme": auth.type if auth else None,
            "basic_username": auth.username if auth and auth.type == "basic" else None,
        }
        with lock:
            records.append(record)

        fault = take_fault("response", request.path, request.method)
        if fault is not None:
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["status"] is not None:
                if fault["json"] is not None:
                    response = flask.jsonify(fault["json"])
                else:
                    response = flask.make_response(fault["body"] or "")
                response.status_code = fault["status"]
                response.headers.update(fault["headers"])
                return response

        if request.path == TOKEN_PATH and request.form.get("grant_type") == "authorization_code":
            return check_code_verifier(request.form.get("code", ""), request.form.get("code_verifier"))
        return None

    def check_code_verifier(code: str, verifier: str | None) -> flask.Response | None:
        with lock:
            if code not in challenges:
                return None  # not a code the provider issued: it rejects it itself
            challenge = challenges[code]
        if challenge is None:
            if verifier is not None:
                return oauth_error(400, "invalid_grant", "code_verifier sent, but no code_challenge was")
            return None
        if verifier is None:
            return oauth_error(400, "invalid_request", "missing code_verifier")
        expected, method = challenge
        computed = _s256(verifier) if method == "S256" else verifier
        if not _PKCE_VALUE.match(verifier) or not hmac.compare_digest(computed, expected):
            return oauth_error(400, "invalid_grant", "code_verifier does not match the code_challenge")
        return None

    @app.after_request
    def after(response: flask.Response) -> flask.Response:
        request = flask.request
        if request.path == AUTHORIZATION_PATH:
            return after_authorization(response)
        if request.path == TOKEN_PATH and response.status_code == 200:
            return after_token(response)
        return response

    def after_authorization(response: flask.Response) -> flask.Response:
        args = flask.request.args
        location = response.headers.get("Location", "") if response.status_code in (301, 302, 303) else ""
        returned = query_params(location)
        accepted = response.status_code == 200 or "code" in returned  # a login page, or a code for the client
        if not accepted:
            if "error" in returned and "state" not in returned and args.get("state") is not None:
                response.headers["Location"] = _add_query(location, {"state": args["state"]})
            return response

        fault = take_fault("authorization_error")
        if fault is not None:
            return error_redirect(fault["error"], fault["description"])

        challenge = args.get("code_challenge")
        method = args.get("code_challenge_method", "plain" if challenge else None)
        if challenge is None and require_pkce:
            return error_redirect("invalid_request", "code_challenge is required")
        if challenge is not None and (method not in ("S256", "plain") or not _PKCE_VALUE.match(challenge)):
            return error_redirect("invalid_request", "invalid code_challenge or code_challenge_method")

        if "code" in returned:
            with lock:
                challenges[returned["code"]] = (challenge, str(method)) if challenge is not None else None
        return response

    def after_token(response: flask.Response) -> flask.Response:
        body = response.get_json(silent=True)
        if not isinstance(body, dict) or "id_token" not in body:
            return response
        fault = take_fault("id_token")
        if fault is None:
            return response
        header_b64, payload_b64, _ = body["id_token"].split(".")
        header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
        claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
        claims.update(fault["claims"])
        for name in fault["remove"]:
            claims.pop(name, None)
        if fault["sign_with"] == "none":
            segments = [{"alg": "none", "typ": "JWT"}, claims]
            encoded = [base64.urlsafe_b64encode(json.dumps(s).encode()).rstrip(b"=").decode() for s in segments]
            body["id_token"] = ".".join([*encoded, ""])
        else:
            if fault["sign_with"] == "foreign":
                if not foreign_key:
                    foreign_key.append(jwk.RSAKey.generate_key(2048))
                key = foreign_key[0]
            else:
                key = jwk.RSAKey.import_key(flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True))
            body["id_token"] = jwt.encode(header, claims, key)
        response.set_data(json.dumps(body))
        return response

    def control_faults() -> flask.typing.ResponseReturnValue:
        with lock:
            if flask.request.method == "DELETE":
                faults.clear()
            else:
                faults.append(flask.request.get_json(force=True))
        return "", 204

    def control_requests() -> flask.typing.ResponseReturnValue:
        with lock:
            if flask.request.method == "DELETE":
                records.clear()
                return "", 204
            return flask.jsonify(list(records))

    app.add_url_rule(f"{CONTROL_PATH}/faults", "oi_faults", control_faults, methods=["POST", "DELETE"])
    app.add_url_rule(f"{CONTROL_PATH}/requests", "oi_requests", control_requests, methods=["GET", "DELETE"])

    server = werkzeug.serving.make_server(config["host"], config["port"], app, threaded=True)

    def on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(0)

    def lifeline() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the parent closed the pipe or died
        os._exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    threading.Thread(target=lifeline, daemon=True).start()
    ready = Path(config["ready_file"])
    ready.with_suffix(".tmp").write_text(json.dumps({"port": server.server_port}))
    ready.with_suffix(".tmp").replace(ready)
    print(f"oidc-provider-mock listening on http://{config['host']}:{server.server_port}", flush=True)
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
