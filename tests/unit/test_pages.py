"""The sign-in pages people see in a browser (errors of the Authorization Code flow and the interaction hook)."""

from __future__ import annotations

from openissuer.web.pages import render_page


def test_a_page_escapes_its_text_and_keeps_its_url_to_itself() -> None:
    """The page's URL can hold the upstream provider's code and state or a hook token: no referrer leaves it, it is
    not framed, cached or sniffed, and it runs nothing."""
    response = render_page(
        "<b>Sign-in</b>", "failed <script>x</script>", return_url='mywallet://cb?error=access_denied&state="x"'
    )
    body = bytes(response.body).decode()
    assert "<script>" not in body and "&lt;script&gt;" in body and "&lt;b&gt;" in body
    assert 'href="mywallet://cb?error=access_denied&amp;state=&quot;x&quot;"' in body
    headers = response.headers
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
