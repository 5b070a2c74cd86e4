"""Branding images given as https URLs, fetched once and kept inline (reference §4.2: "Responses show issuerLogo as a
data URI even when the request gave a URL").

When a configuration is created or replaced, an ``issuerLogo`` (PNG, JPEG, GIF or WebP) or ``watermarkImage`` (PNG)
that is an https URL is fetched through the outbound guard (``HttpFetcher``: public addresses only, checked after
DNS resolution and on every redirect, time and size capped) and stored as a ``data:`` URI, so wallets never fetch
from the issuer's chosen host and the metadata does not change when that host does. The body must be an image of
an accepted type by its own bytes (the declared ``Content-Type`` must agree) and at most ``MAX_IMAGE_BYTES``. SVG
is refused: it can carry scripts and external references, and no sanitiser is applied here.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import replace

from openissuer.domain.branding import Branding
from openissuer.errors import ErrorDetail, ValidationError
from openissuer.ports.http import HttpFetcher, OutboundRequestError

log = logging.getLogger("openissuer.configurations")
MAX_IMAGE_BYTES = 256 * 1024
FETCH_TIMEOUT = 3.0
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
WATERMARK_TYPES = frozenset({"image/png"})


def sniff_image_type(body: bytes) -> str | None:
    """Return the media type the bytes are (PNG, JPEG, GIF, WebP), or None."""
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if body.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if body.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(body) >= 12 and body.startswith(b"RIFF") and body[8:12] == b"WEBP":
        return "image/webp"
    return None


class BrandingImages:
    """Fetch a configuration's branding image URLs and return the branding with ``data:`` URIs instead."""

    def __init__(
        self,
        fetcher: HttpFetcher,
        validate_url: Callable[[str], str],
        *,
        timeout: float = FETCH_TIMEOUT,
        max_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        self._fetcher = fetcher
        self._validate_url = validate_url
        self._timeout = timeout
        self._max_bytes = max_bytes

    async def inline(self, branding: Branding | None) -> Branding | None:
        """Return ``branding`` with its https image URLs replaced; 400 naming the field when one cannot be used."""
        if branding is None:
            return None
        logo, watermark = branding.issuer_logo, branding.watermark_image
        if logo is not None and logo.startswith("https://"):
            branding = replace(branding, issuer_logo=await self._fetch("branding.issuerLogo", logo, LOGO_TYPES))
        if watermark is not None and watermark.startswith("https://"):
            image = await self._fetch("branding.watermarkImage", watermark, WATERMARK_TYPES)
            branding = replace(branding, watermark_image=image)
        return branding

    async def _fetch(self, param: str, url: str, accepted: frozenset[str]) -> str:
        try:
            target = self._validate_url(url)
        except ValueError as exc:
            raise _refused(param, str(exc)) from exc
        try:
            response = await self._fetcher.request("GET", target, headers={"Accept": ", ".join(sorted(accepted))})
        except OutboundRequestError as exc:
            log.info("branding image not fetched", extra={"reason": exc.detail or exc.description})
            raise _refused(param, f"could not be fetched: {exc.description}") from exc
        if response.status != 200:
            raise _refused(param, f"could not be fetched: the server answered {response.status}")
        if len(response.body) > self._max_bytes:
            raise _refused(param, f"is larger than {self._max_bytes // 1024} KB")
        declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
        declared = "image/jpeg" if declared == "image/jpg" else declared
        sniffed = sniff_image_type(response.body)
        if sniffed is None or sniffed not in accepted or declared != sniffed:
            names = ", ".join(sorted(t.removeprefix("image/").upper() for t in accepted))
            raise _refused(param, f"must be a {names} image (by its bytes and its Content-Type)")
        return f"data:{sniffed};base64,{base64.b64encode(response.body).decode('ascii')}"


def _refused(param: str, message: str) -> ValidationError:
    return ValidationError("Validation Error", details=[ErrorDetail("body", param, message)])
