"""The interaction hook's session tokens: what goes out, and every check on what comes back (reference §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openissuer.protocol.interaction_hook import (
    CLOCK_LEEWAY,
    HookTokenError,
    create_hook_session_claims,
    read_hook_state,
    verify_hook_return,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ISSUER = "https://issuer.example"
HOOK = "https://hook.example.com/step"


def answer(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": HOOK,
        "aud": ISSUER,
        "state": "s-1",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 60,
        "claims": {"loyalty": "gold", "extra": 1},
        "claimsToPersist": ["loyalty", "not-returned"],
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def test_the_outgoing_token() -> None:
    claims = create_hook_session_claims(
        issuer=ISSUER,
        hook_url=HOOK,
        state="s-1",
        redirect_url=ISSUER + "/v1/oauth/interaction-hook/callback",
        claims={"given_name": "Ana"},
        now=NOW,
        expires_at=NOW + timedelta(minutes=10),
    )
    assert claims == {
        "iss": ISSUER,
        "aud": HOOK,
        "state": "s-1",
        "redirectUrl": ISSUER + "/v1/oauth/interaction-hook/callback",
        "claims": {"given_name": "Ana"},
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 600,
    }


def test_a_good_answer() -> None:
    result = verify_hook_return(answer(), issuer=ISSUER, hook_url=HOOK, now=NOW)
    assert result.state == "s-1" and result.error_message is None
    assert result.claims == {"loyalty": "gold", "extra": 1}
    assert result.claims_to_persist == ("loyalty",)  # names the hook did not return are ignored


def test_iss_may_be_the_hooks_origin_and_aud_a_list() -> None:
    result = verify_hook_return(
        answer(iss="https://hook.example.com", aud=["x", ISSUER]), issuer=ISSUER, hook_url=HOOK, now=NOW
    )
    assert result.state == "s-1"


def test_an_error_answer() -> None:
    result = verify_hook_return(
        answer(error={"message": "m" * 500}, claims=None), issuer=ISSUER, hook_url=HOOK, now=NOW
    )
    assert result.error_message == "m" * 200


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": "https://other.example"}, "aud"),
        ({"aud": None}, "aud"),
        ({"iss": "https://evil.example"}, "iss"),
        ({"iss": "https://hook.example.com/other"}, "iss"),
        ({"exp": None}, "exp"),
        ({"exp": "soon"}, "exp"),
        ({"exp": True}, "exp"),
        ({"exp": int(NOW.timestamp()) - CLOCK_LEEWAY}, "expired"),
        ({"state": None}, "state"),
        ({"state": ""}, "state"),
        ({"claims": ["a"]}, "claims"),
        ({"claimsToPersist": "loyalty"}, "claimsToPersist"),
        ({"claimsToPersist": [1]}, "claimsToPersist"),
    ],
)
def test_answers_that_fail_a_check(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(HookTokenError, match=reason):
        verify_hook_return(answer(**changes), issuer=ISSUER, hook_url=HOOK, now=NOW)


def test_the_state_is_read_before_anything_else() -> None:
    assert read_hook_state({"state": "x"}) == "x"
    with pytest.raises(HookTokenError):
        read_hook_state({"state": 5})


@pytest.mark.parametrize("hook_url", [ISSUER, ISSUER + "/"])
def test_a_hook_at_the_issuers_own_url_cannot_be_answered_with_the_outgoing_token(hook_url: str) -> None:
    """With the hook at the issuer's URL, the token sent to the hook (iss the issuer, aud the hook) would pass as
    the hook's answer: a browser could hand it back and skip the hook. Every answer is refused instead."""
    outgoing = create_hook_session_claims(
        issuer=ISSUER,
        hook_url=hook_url,
        state="s-1",
        redirect_url=f"{ISSUER}/v1/oauth/interaction-hook/callback",
        claims={"given_name": "Alice"},
        now=NOW,
        expires_at=NOW + timedelta(minutes=5),
    )
    with pytest.raises(HookTokenError, match="issuer's own"):
        verify_hook_return(outgoing, issuer=ISSUER, hook_url=hook_url, now=NOW)
    with pytest.raises(HookTokenError, match="issuer's own"):
        verify_hook_return(answer(iss=ISSUER), issuer=ISSUER, hook_url=hook_url, now=NOW)
