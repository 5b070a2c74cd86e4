"""validate_outbound_url enforces the reference platform's URL rules (mattr-vii.md §1.3) and normalises hosts."""

from __future__ import annotations

import httpx
import pytest

from openissuer.domain.urls import InvalidOutboundUrlError, redact_url, request_target_url, validate_outbound_url


def test_a_plain_https_url_is_returned_unchanged() -> None:
    url = "https://claims.example.com/v1/lookup"
    assert validate_outbound_url(url, allow_private=False) == url


def test_scheme_and_host_are_lower_cased_and_the_path_kept() -> None:
    assert validate_outbound_url("HTTPS://Claims.EXAMPLE.com/Path/X", allow_private=False) == (
        "https://claims.example.com/Path/X"
    )


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="https"):
        validate_outbound_url("http://example.com/", allow_private=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "must not be empty"),
        ("/relative/path", "must be absolute"),
        ("example.com/path", "must be absolute"),
        ("//example.com/path", "must be absolute"),
        ("https:example.com", "must be absolute"),
        ("https:///path", "must be absolute"),
        ("http://example.com/", "must use https"),
        ("ftp://example.com/", "must use https"),
        ("javascript:alert(1)", "must be absolute"),
        ("https://user:pass@example.com/", "must not contain user credentials"),
        ("https://user@example.com/", "must not contain user credentials"),
        ("https://example.com/?a=1", "must not contain a query string"),
        ("https://example.com/?", "must not contain a query string"),
        ("https://example.com/#frag", "must not contain a fragment"),
        ("https://exa mple.com/", "whitespace or control"),
        ("https://example.com/\n", "whitespace or control"),
        ("https://evil.example\\@good.example/", "backslashes"),
        ("https://%6c%6fcalhost/", "percent-encoded"),
        ("https://example.com:99999/", "port is invalid"),
        ("https://example.com:abc/", "port is invalid"),
        ("https://example.com:0/", "port is invalid"),
        ("https://a..b.example/", "not a valid domain name"),
        ("https://-bad.example/", "not a valid domain name"),
        ("https://under_score.example/", "not a valid domain name"),
        ("https://example.com./", "must not end with a dot"),
        ("https://[::1/", "not a valid absolute URL"),
        ("https://" + "a" * 2050 + ".com/", "longer than 2048"),
    ],
)
def test_each_rule_is_enforced_with_a_precise_message(url: str, message: str) -> None:
    with pytest.raises(InvalidOutboundUrlError, match=message):
        validate_outbound_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://93.184.216.34/",
        "https://10.0.0.1:8443/hook",
        "https://[::1]/",
        "https://[2606:4700::1111]/",
        "https://[::ffff:127.0.0.1]/",
        # Spellings a WHATWG parser or inet_aton turns into 127.0.0.1.
        "https://2130706433/",
        "https://0x7f000001/",
        "https://127.1/",
        "https://0x7f.0.0.1/",
        "https://0177.0.0.1/",
        "https://example.123/",
    ],
)
def test_ip_literals_in_any_spelling_are_refused(url: str) -> None:
    with pytest.raises(InvalidOutboundUrlError, match="must not be an IP address"):
        validate_outbound_url(url, allow_private=False)


def test_the_message_never_echoes_the_url() -> None:
    with pytest.raises(InvalidOutboundUrlError) as caught:
        validate_outbound_url("https://user:hunter2@example.com/?token=s3cr3t", allow_private=False)
    assert "hunter2" not in str(caught.value) and "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("https://faß.de/", "https://xn--fa-hia.de/"),  # IDNA 2008 / UTS 46 non-transitional, like browsers
        ("https://пример.рф/", "https://xn--e1afmkfd.xn--p1ai/"),
        ("https://ＥＸＡＭＰＬＥ.com/", "https://example.com/"),  # full-width letters are mapped (UTS 46)
        ("https://Bücher.Example/ü?q=ä#é", "https://xn--bcher-kva.example/%C3%BC?q=%C3%A4#%C3%A9"),
    ],
)
def test_unicode_hosts_become_punycode(url: str, expected: str) -> None:
    assert validate_outbound_url(url, allow_private=False, allow_query=True, allow_fragment=True) == expected


def test_query_and_fragment_are_kept_when_allowed() -> None:
    url = "https://example.com/cb?x=1#top"
    assert validate_outbound_url(url, allow_private=False, allow_query=True, allow_fragment=True) == url


def test_query_allowed_does_not_allow_a_fragment() -> None:
    with pytest.raises(InvalidOutboundUrlError, match="fragment"):
        validate_outbound_url("https://example.com/?x=1#top", allow_private=False, allow_query=True)


def test_a_question_mark_inside_the_fragment_is_not_a_query() -> None:
    url = "https://example.com/#a?b"
    assert validate_outbound_url(url, allow_private=False, allow_fragment=True) == url


def test_strip_port_and_fragment_drops_both() -> None:
    result = validate_outbound_url(
        "https://IdP.example.com:8443/realms/x#section", allow_private=False, strip_port_and_fragment=True
    )
    assert result == "https://idp.example.com/realms/x"


def test_a_non_default_port_is_kept_and_the_default_dropped() -> None:
    assert validate_outbound_url("https://example.com:8443/a", allow_private=False) == "https://example.com:8443/a"
    assert validate_outbound_url("https://example.com:443/a", allow_private=False) == "https://example.com/a"
    assert validate_outbound_url("https://example.com:/a", allow_private=False) == "https://example.com/a"


@pytest.mark.parametrize(
    "url",
    [
        "https://idp.example.com/",
        "https://login.example.co.uk/",
        "https://xn--e1afmkfd.xn--p1ai/",
        "https://пример.рф/",
    ],
)
def test_public_tld_accepts_alphabetic_tlds(url: str) -> None:
    validate_outbound_url(url, allow_private=False, require_public_tld=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://intranet/",  # no dot
        "https://idp.example.c0m/",  # not alphabetic
        "https://idp.localhost/",
        "https://metadata.google.internal/",
        "https://idp.corp.local/",
        "https://service.test/",
        "https://example.example/",
        "https://x.invalid/",
        "https://hidden.onion/",
        "https://router.home.arpa/",
    ],
)
def test_public_tld_refuses_single_labels_digits_and_special_use_names(url: str) -> None:
    with pytest.raises(InvalidOutboundUrlError, match="public top-level domain"):
        validate_outbound_url(url, allow_private=False, require_public_tld=True)


def test_public_tld_is_not_required_by_default() -> None:
    assert validate_outbound_url("https://intranet/hook", allow_private=False) == "https://intranet/hook"


def test_public_tld_with_allow_private_still_refuses_ip_addresses() -> None:
    with pytest.raises(InvalidOutboundUrlError, match="public top-level domain"):
        validate_outbound_url("http://127.0.0.1:8080/", allow_private=True, require_public_tld=True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:8080/claims", "http://localhost:8080/claims"),
        ("http://127.0.0.1:8080/claims", "http://127.0.0.1:8080/claims"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("http://[0:0:0:0:0:0:0:1]/", "http://[::1]/"),
        ("https://10.1.2.3/", "https://10.1.2.3/"),
        ("http://claims.internal:80/", "http://claims.internal/"),
    ],
)
def test_allow_private_permits_http_and_ip_literals(url: str, expected: str) -> None:
    assert validate_outbound_url(url, allow_private=True) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/", "must use http or https"),
        ("http://user:pw@127.0.0.1/", "user credentials"),
        ("http://127.0.0.1/?a=1", "query string"),
        ("http://127.0.0.1/#x", "fragment"),
        ("http://2130706433/", "must not be an IP address"),
        ("http://[fe80::1%25eth0]/", "zone identifier"),
    ],
)
def test_allow_private_keeps_the_other_rules(url: str, message: str) -> None:
    with pytest.raises(InvalidOutboundUrlError, match=message):
        validate_outbound_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pw@example.com:8443/p/a?token=s3cr3t#f", "https://example.com:8443/p/a"),
        ("HTTP://[::1]:80/x?y", "http://[::1]:80/x"),
        ("not a url", "<invalid URL>"),
        ("https://example.com:bad/", "<invalid URL>"),
    ],
)
def test_redact_url_keeps_only_origin_and_path(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://h.example.com/a/b", "https://h.example.com/a/b"),
        ("https://h.example.com", "https://h.example.com/"),
        ("https://h.example.com/a/../b", "https://h.example.com/b"),
        ("https://h.example.com/a/./b/.", "https://h.example.com/a/b/"),
        ("https://h.example.com/../../a", "https://h.example.com/a"),
        ("https://h.example.com/a/b/..", "https://h.example.com/a/"),
        ("https://h.example.com/a//b/../c", "https://h.example.com/a//c"),
        ("https://h.example.com/a/%2e%2e/b", "https://h.example.com/a/%2e%2e/b"),  # an encoded dot is not a dot
        ("https://h.example.com/a/.../..b/c", "https://h.example.com/a/.../..b/c"),
        ("https://h.example.com:8443/a/b/c/./../../g?x=../y", "https://h.example.com:8443/a/g?x=../y"),
        ('https://h.example.com/a"<>`{}|^b', "https://h.example.com/a%22%3C%3E%60%7B%7D|^b"),
        ('https://h.example.com/p?q"<>{}`', "https://h.example.com/p?q%22%3C%3E{}`"),
        ("https://h.example.com?x=1", "https://h.example.com/?x=1"),
        ("https://h.example.com/x?", "https://h.example.com/x?"),
    ],
)
def test_request_target_url_is_what_an_http_client_sends(url: str, target: str) -> None:
    """The form a signature over ``@target-uri`` is made over. httpx, an independent client, sends it unchanged."""
    assert request_target_url(url) == target
    assert request_target_url(target) == target
    sent = httpx.Request("POST", target).url
    path_and_query = target.split("h.example.com", 1)[1].removeprefix(":8443")
    assert sent.raw_path.decode() == path_and_query
