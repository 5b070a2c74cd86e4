"""Validate and normalise the outbound URLs a tenant configures (auth provider, claims source, hook, webhook), and
the public URL a tenant is reached at (its credential issuer identifier) with the host key wallet requests are
routed by.

Reference platform rule (mattr-vii.md §1.3): "must be valid, HTTPS, not an IP address, no query string (webhook: no
fragment either), Unicode host converted to ASCII (punycode); for auth provider also port and fragment stripped and
public TLD required". Pure: no DNS, no network; whether a name resolves to a public address is the outbound HTTP
guard's job at request time.

The checks also close parser differentials an attacker could use to make this validator and the HTTP client (or a
WHATWG URL parser) disagree about the host: backslashes, percent-encoded hosts, and the numeric IPv4 spellings a
browser or ``inet_aton`` accept (``2130706433``, ``0x7f.1``, ``127.1``) are all refused.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from urllib.parse import SplitResult, quote, urlsplit

import idna

MAX_URL_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WHITESPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f\s]")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0[xX][0-9a-fA-F]*)$")
_ALPHABETIC_ASCII = re.compile(r"^[a-z]+$")
# Special-use names that are never public (RFC 6761, 6762, 7686, 8375, 9476; ICANN's ".internal" of 2024).
SPECIAL_USE_TLDS = frozenset({"localhost", "local", "internal", "test", "example", "invalid", "onion", "arpa", "alt"})


class InvalidOutboundUrlError(ValueError):
    """The URL breaks one outbound URL rule; the message names the rule and never echoes the URL."""


def validate_outbound_url(
    url: str,
    *,
    allow_private: bool,
    allow_query: bool = False,
    allow_fragment: bool = False,
    strip_port_and_fragment: bool = False,
    require_public_tld: bool = False,
) -> str:
    """Return ``url`` normalised (lower-case scheme and host, IDNA A-label host) or raise InvalidOutboundUrlError.

    Enforces mattr-vii.md §1.3: absolute, ``https`` (``http`` too when ``allow_private``), no userinfo, host not an
    IP address (allowed when ``allow_private``, for development against local servers), no query unless
    ``allow_query``, no fragment unless ``allow_fragment``. ``strip_port_and_fragment`` drops both (auth provider
    URLs). ``require_public_tld`` is an offline approximation of "public TLD": the host has at least two labels, the
    last is alphabetic and not a special-use name; the Public Suffix List is not consulted (no network, no data file),
    so a made-up TLD such as ``.notarealtld`` passes and the request-time guard is what keeps private hosts out.
    """
    _verify_characters(url)
    try:
        parts = urlsplit(url)
    except ValueError as error:  # e.g. an unclosed "[" of an IPv6 host
        raise InvalidOutboundUrlError("URL is not a valid absolute URL") from error
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        raise InvalidOutboundUrlError("URL must be absolute (scheme://host/...)")
    if scheme != "https" and not (allow_private and scheme == "http"):
        raise InvalidOutboundUrlError("URL must use https" if not allow_private else "URL must use http or https")
    if "@" in parts.netloc:
        raise InvalidOutboundUrlError("URL must not contain user credentials")
    before_fragment, has_fragment, _ = url.partition("#")
    has_query = "?" in before_fragment
    if has_query and not allow_query:
        raise InvalidOutboundUrlError("URL must not contain a query string")
    if has_fragment and not (allow_fragment or strip_port_and_fragment):
        raise InvalidOutboundUrlError("URL must not contain a fragment")
    host = _normalise_host(parts.hostname or "", allow_private=allow_private)
    if require_public_tld:
        _verify_public_tld(host)
    port = _port(parts, scheme)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and not strip_port_and_fragment:
        netloc = f"{netloc}:{port}"
    normalised = f"{scheme}://{netloc}{_ascii(parts.path)}"
    if has_query:
        normalised += f"?{_ascii(parts.query)}"
    if has_fragment and not strip_port_and_fragment:
        normalised += f"#{_ascii(parts.fragment)}"
    return normalised


def normalise_public_url(url: str) -> str:
    """Return a tenant's public URL normalised, or raise InvalidOutboundUrlError naming the rule it breaks.

    The public URL is the credential issuer identifier, OID4VCI 1.0 §12.2.1: "a case sensitive URL using the https
    scheme that contains scheme, host and, optionally, port number and path components, but no query or fragment
    components" (``http`` is accepted too, for development behind a proxy). Normalised: lower-case scheme, IDNA
    A-label host without a trailing dot (wallets send that form in ``Host``), the scheme's own default port dropped,
    no trailing slash. The path must be RFC 3986 path characters (non-ASCII ones percent-encoded here), without
    empty, ``.`` or ``..`` segments: a proxy or client would resolve those, so the identifier would not be what
    wallets reach. IP addresses are allowed (a development deployment), IPv6 zone identifiers are not.
    """
    _verify_characters(url)
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise InvalidOutboundUrlError("URL is not a valid absolute URL") from error
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise InvalidOutboundUrlError("URL must be an absolute http(s) URL")
    if "@" in parts.netloc:
        raise InvalidOutboundUrlError("URL must not contain user credentials")
    if "?" in url or "#" in url:
        raise InvalidOutboundUrlError("URL must not contain a query string or a fragment")
    hostname = parts.hostname or ""
    host = _normalise_host(hostname.removesuffix("."), allow_private=True)  # "a.example." is "a.example"
    port = _port(parts, scheme)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    path = _ascii(parts.path).rstrip("/")
    segments = path.split("/")[1:]
    if any(segment.lower() in _DOT_SEGMENTS for segment in segments):
        raise InvalidOutboundUrlError("URL path must not contain empty, '.' or '..' segments")
    if not _PATH.fullmatch(path):
        raise InvalidOutboundUrlError("URL path must contain only RFC 3986 path characters")
    return f"{scheme}://{netloc}{path}"


def host_of_url(url: str) -> str:
    """Return the host key of a public URL, the one wallet requests are routed by: the host as wallets send it and
    ``normalise_public_url`` writes it (IDNA A-label, lower case, no trailing dot), and ``:port`` unless the port is
    80 or 443 whatever the scheme.

    ``Host`` headers are keyed the same way (services/tenancy.py ``host_of_header``): a proxy in front may terminate
    TLS, so the scheme says nothing about the port a request names, and two URLs that differ only in one of these
    ports are one host. Never raises: a stored URL from before these rules is keyed as well as it can be."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an unclosed "[" or a port out of range: keyed as written, as a Host header would be
        return url.partition("://")[2].partition("/")[0].lower()
    host = parts.hostname or ""  # lower case
    host = host.removesuffix(".")
    if not host.isascii() or ":" in host:  # an ASCII name is its own A-label: no IDNA work for the common case
        with contextlib.suppress(InvalidOutboundUrlError):
            host = _normalise_host(host, allow_private=True)
    if ":" in host:
        host = f"[{host}]"
    return host if port is None or port in _ROUTED_DEFAULT_PORTS else f"{host}:{port}"


_ROUTED_DEFAULT_PORTS = (80, 443)
_DOT_SEGMENTS = frozenset({"", ".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"})
# RFC 3986 §3.3 path-abempty: *( "/" *pchar ), pchar = unreserved / pct-encoded / sub-delims / ":" / "@"
_PATH = re.compile(r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)*")


def request_target_url(url: str) -> str:
    """Return ``url`` as an HTTP client sends it: its path with dot segments removed (RFC 3986 §5.2.4), ``/`` for an
    empty path (RFC 9110 §4.2.3), and the characters a client percent-encodes encoded (WHATWG URL's path and query
    percent-encode sets). A signature over ``@target-uri`` (RFC 9421) must be made over this form, and the request
    sent to it, so that the receiver sees what was signed, not the URL as it was configured."""
    parts = urlsplit(url)
    path = _PATH_ENCODE.sub(_percent_encode, _remove_dot_segments(parts.path) or "/")
    query = _QUERY_ENCODE.sub(_percent_encode, parts.query)
    if (path, query) == (parts.path, parts.query):
        return url
    target = f"{parts.scheme}://{parts.netloc}{path}"
    if query or "?" in url.partition("#")[0]:
        target += f"?{query}"
    return f"{target}#{parts.fragment}" if "#" in url else target


_PATH_ENCODE = re.compile(r'["<>`{}]')
_QUERY_ENCODE = re.compile(r'["<>]')


def _percent_encode(match: re.Match[str]) -> str:
    return f"%{ord(match.group()):02X}"


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, on the path as written (``%2E`` is not a dot: clients and servers leave it alone)."""
    output: list[str] = []
    rest = path
    while rest:
        if rest.startswith("../"):
            rest = rest[3:]
        elif rest.startswith(("./", "/./")):
            rest = rest[2:]
        elif rest == "/.":
            rest = "/"
        elif rest.startswith("/../"):
            rest = rest[3:]
            if output:
                output.pop()
        elif rest == "/..":
            rest = "/"
            if output:
                output.pop()
        elif rest in (".", ".."):
            rest = ""
        else:
            start = 1 if rest.startswith("/") else 0
            end = rest.find("/", start)
            segment, rest = (rest, "") if end == -1 else (rest[:end], rest[end:])
            output.append(segment)
    return "".join(output)


def redact_url(url: str) -> str:
    """Return ``scheme://host[:port]/path`` of ``url``: no credentials, query or fragment, safe to log or show."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    if not parts.scheme or not host:
        return "<invalid URL>"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{_ascii(parts.path)}"


def _verify_characters(url: str) -> None:
    if not url:
        raise InvalidOutboundUrlError("URL must not be empty")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidOutboundUrlError(f"URL must not be longer than {MAX_URL_LENGTH} characters")
    if _WHITESPACE_OR_CONTROL.search(url):
        raise InvalidOutboundUrlError("URL must not contain whitespace or control characters")
    if "\\" in url:  # WHATWG parsers read "\" as "/" in http(s) URLs, urllib does not: a host confusion
        raise InvalidOutboundUrlError("URL must not contain backslashes")
    if ":" not in url:
        raise InvalidOutboundUrlError("URL must be absolute (scheme://host/...)")


def _normalise_host(host: str, *, allow_private: bool) -> str:
    if not host:
        raise InvalidOutboundUrlError("URL must include a host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if not allow_private:
            raise InvalidOutboundUrlError("URL host must not be an IP address")
        if "%" in host:
            raise InvalidOutboundUrlError("URL host must not carry an IPv6 zone identifier")
        return address.compressed
    if "%" in host:  # WHATWG parsers percent-decode hosts, urllib does not: a host confusion
        raise InvalidOutboundUrlError("URL host must not be percent-encoded")
    if host.endswith("."):
        raise InvalidOutboundUrlError("URL host must not end with a dot")
    if _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        # A WHATWG parser (and inet_aton) reads a host whose last label is a number as an IPv4 address.
        raise InvalidOutboundUrlError("URL host must not be an IP address")
    try:
        return idna.encode(host, uts46=True, std3_rules=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise InvalidOutboundUrlError("URL host is not a valid domain name") from error


def _verify_public_tld(host: str) -> None:
    labels = host.split(".")
    if len(labels) < 2 or ":" in host:
        raise InvalidOutboundUrlError("URL host must be a domain name under a public top-level domain")
    tld = labels[-1]
    if tld.startswith("xn--"):
        try:
            tld_text = idna.decode(tld)
        except (idna.IDNAError, UnicodeError) as error:
            raise InvalidOutboundUrlError("URL host is not a valid domain name") from error
        alphabetic = tld_text.isalpha()
    else:
        alphabetic = bool(_ALPHABETIC_ASCII.match(tld))
    if not alphabetic or tld in SPECIAL_USE_TLDS:
        raise InvalidOutboundUrlError("URL host must be a domain name under a public top-level domain")


def _port(parts: SplitResult, scheme: str) -> int | None:
    """Return the explicit, non-default port or None."""
    try:
        port = parts.port
    except ValueError as error:  # not a number, or outside 0-65535
        raise InvalidOutboundUrlError("URL port is invalid") from error
    if port is None:
        return None
    if port == 0:
        raise InvalidOutboundUrlError("URL port is invalid")
    return None if port == _DEFAULT_PORTS[scheme] else port


def _ascii(text: str) -> str:
    """Percent-encode the non-ASCII characters of a path, query or fragment (UTF-8), keeping the rest as given."""
    return "".join(char if char.isascii() else quote(char, safe="") for char in text)
