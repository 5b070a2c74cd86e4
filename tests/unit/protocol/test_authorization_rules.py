"""Unit tests of the Authorization Code flow's pure rules: ID token claims, PKCE, redirect URIs, requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from openissuer.errors import (
    InvalidAuthorizationDetailsError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuthError,
)
from openissuer.protocol.authorization_request import (
    UnsupportedResponseTypeError,
    create_error_redirect,
    create_redirect,
    parse_requested_credentials,
    verify_redirect_uri,
    verify_response_type,
)
from openissuer.protocol.id_token import IdTokenError, verify_id_token_claims
from openissuer.protocol.pkce import create_code_challenge, verify_challenge_parameters, verify_code_verifier

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
GOOD = {"iss": "https://idp.example", "aud": "client-1", "exp": T + 300, "iat": T, "nonce": "n-1", "sub": "alice"}


def check(claims: dict[str, Any]) -> str:
    return verify_id_token_claims(claims, issuer="https://idp.example", client_id="client-1", nonce="n-1", now=NOW)


def test_good_id_token_gives_the_subject() -> None:
    assert check(GOOD) == "alice"
    assert check({**GOOD, "aud": ["client-1", "other"], "azp": "client-1"}) == "alice"


@pytest.mark.parametrize(
    "claims",
    [
        {**GOOD, "iss": "https://evil.example"},
        {k: v for k, v in GOOD.items() if k != "iss"},
        {**GOOD, "aud": "other"},
        {**GOOD, "aud": ["other", "another"]},
        {**GOOD, "aud": ["client-1", "other"]},  # several audiences need azp = us
        {**GOOD, "aud": ["client-1", "other"], "azp": "other"},
        {**GOOD, "exp": T - 61},
        {**GOOD, "exp": "tomorrow"},
        {**GOOD, "exp": True},
        {k: v for k, v in GOOD.items() if k != "exp"},
        {**GOOD, "iat": T + 3600},
        {k: v for k, v in GOOD.items() if k != "iat"},
        {**GOOD, "nonce": "n-2"},
        {k: v for k, v in GOOD.items() if k != "nonce"},
        {**GOOD, "sub": ""},
        {k: v for k, v in GOOD.items() if k != "sub"},
    ],
)
def test_each_id_token_rule(claims: dict[str, Any]) -> None:
    with pytest.raises(IdTokenError):
        check(claims)


def test_exp_leeway_is_one_minute() -> None:
    assert check({**GOOD, "exp": T - 59}) == "alice"


VERIFIER = "v" * 43


def test_pkce_round_trip() -> None:
    challenge = create_code_challenge(VERIFIER)
    assert verify_challenge_parameters(challenge, "S256") == challenge
    verify_code_verifier(VERIFIER, challenge)


@pytest.mark.parametrize(
    ("challenge", "method"),
    [(None, "S256"), ("", "S256"), ("x" * 43, "plain"), ("x" * 43, None), ("short", "S256"), ("x" * 42 + "=", "S256")],
)
def test_pkce_request_rules(challenge: str | None, method: str | None) -> None:
    with pytest.raises(InvalidRequestError):
        verify_challenge_parameters(challenge, method)


@pytest.mark.parametrize("verifier", [None, "", "v" * 42, "v" * 129, "v" * 42 + "!", "w" * 43])
def test_pkce_verifier_rules(verifier: str | None) -> None:
    with pytest.raises(InvalidGrantError):
        verify_code_verifier(verifier, create_code_challenge(VERIFIER))


REGISTERED = ("https://wallet.example/cb", "mywallet://cb")


@pytest.mark.parametrize(
    "uri",
    [
        "https://wallet.example/cb/",
        "https://wallet.example/cb?x=1",
        "https://wallet.example:443/cb",
        "https://WALLET.example/cb",
        "https://wallet.example@evil.example/cb",
        "mywallet://cb/x",
        "",
        None,
    ],
)
def test_redirect_uri_exact_match(uri: str | None) -> None:
    with pytest.raises(InvalidRequestError):
        verify_redirect_uri(uri, REGISTERED)


def test_registered_redirect_uris_match() -> None:
    for uri in REGISTERED:
        assert verify_redirect_uri(uri, REGISTERED) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "relative/path",
        "https:///nohost",
        "https://x.example/cb#frag",
        # schemes a browser runs: an issuer page that links back to one would run it in the issuer's origin
        "javascript:alert(document.domain)//",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        # not parseable as a URI at all (urlsplit raises)
        "http://[::1",
        "https://x.example:99999/cb",
    ],
)
def test_unregistered_clients_still_need_absolute_uris(uri: str) -> None:
    with pytest.raises(InvalidRequestError):
        verify_redirect_uri(uri, None)


SCOPES = {"org.iso.18013.5.1.mDL": "c-1", "org.example.badge": "c-2"}
KNOWN = frozenset({"c-1", "c-2"})


def test_scopes_map_to_configurations_and_unknown_ones_are_ignored() -> None:
    requested = parse_requested_credentials({"scope": "openid org.example.badge other"}, SCOPES, KNOWN)
    assert requested.configuration_ids == ("c-2",) and not requested.by_authorization_details
    with pytest.raises(InvalidScopeError):
        parse_requested_credentials({"scope": "openid"}, SCOPES, KNOWN)
    with pytest.raises(InvalidScopeError):
        parse_requested_credentials({}, SCOPES, KNOWN)


def test_authorization_details_win_over_scope() -> None:
    details = json.dumps([{"type": "openid_credential", "credential_configuration_id": "c-1"}])
    requested = parse_requested_credentials(
        {"scope": "org.example.badge", "authorization_details": details}, SCOPES, KNOWN
    )
    assert requested.configuration_ids == ("c-1",) and requested.by_authorization_details


@pytest.mark.parametrize(
    "details",
    [
        "not json",
        "{}",
        "[]",
        json.dumps([{"type": "other"}]),
        json.dumps([{"type": "openid_credential"}]),
        json.dumps([{"type": "openid_credential", "credential_configuration_id": "nope"}]),
        json.dumps([{"type": "openid_credential", "credential_configuration_id": ["c-1"]}]),
        json.dumps([{"type": "openid_credential", "credential_configuration_id": {"id": "c-1"}}]),
        '[{"type": "openid_credential", "credential_configuration_id": "c-1", "type": "openid_credential"}]',
        "[" * 3000 + "]" * 3000,
    ],
)
def test_bad_authorization_details(details: str) -> None:
    with pytest.raises(InvalidAuthorizationDetailsError):
        parse_requested_credentials({"authorization_details": details}, SCOPES, KNOWN)


def test_response_type() -> None:
    verify_response_type({"response_type": "code"})
    for value in ("token", "code id_token", ""):
        with pytest.raises(UnsupportedResponseTypeError):
            verify_response_type({"response_type": value})


def test_redirects_keep_the_query_and_add_iss() -> None:
    assert (
        create_redirect("https://w.example/cb?a=1", {"code": "c", "state": None}) == "https://w.example/cb?a=1&code=c"
    )
    error = create_error_redirect("mywallet://cb", OAuthError("bad things"), state="s", issuer="https://i.example")
    assert error.startswith("mywallet://cb?error=invalid_request&error_description=bad+things&state=s&iss=")
