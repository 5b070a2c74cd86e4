"""The format-independent parts of a configuration's metadata: ``credential_metadata`` (OID4VCI 1.0 §12.2.4) and
the one validation of branding.

``credential_metadata`` = ``{display: [...], claims: [...]}``: display objects ``{name, locale, logo{uri,
alt_text}, description, background_color, background_image{uri}, text_color}`` and claims description objects
``{path, mandatory, display[{name, locale}]}`` (Appendix B.2). The display is the configuration's ``branding``
(reference §4.2): ``name`` (the credential type when not given), ``description``, ``backgroundColor`` ->
``background_color``, ``issuerLogo`` -> ``logo.uri``, ``watermarkImage`` -> ``background_image.uri``.
Problems are management API error details, with the wire names of the reference platform (``branding.*``).
"""

from __future__ import annotations

import re
from typing import Any

from openissuer.domain.branding import Branding
from openissuer.errors import ErrorDetail
from openissuer.formats.base import ClaimDescription, FormatConfiguration

_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_LOGO = re.compile(r"(https://|data:image/)\S+")
_WATERMARK = re.compile(r"https://\S+|data:image/png;base64,[A-Za-z0-9+/=]+")
_ICON = re.compile(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+")


def create_credential_metadata(config: FormatConfiguration) -> dict[str, Any] | None:
    """Return ``credential_metadata`` for ``config``, or None when it has neither branding nor claims."""
    metadata: dict[str, Any] = {}
    if config.branding is not None:
        metadata["display"] = [_display(config.branding, config.credential_type)]
    if config.claims:
        metadata["claims"] = [_claim(claim) for claim in config.claims]
    return metadata or None


def find_branding_problems(branding: Branding | None) -> list[ErrorDetail]:
    """List what is wrong with a configuration's ``branding`` (reference §4.2); empty when nothing is."""
    if branding is None:
        return []
    problems: list[ErrorDetail] = []
    if branding.name is not None and not branding.name.strip():
        problems.append(_problem("branding.name", "must not be empty"))
    if branding.background_color is not None and not _COLOR.fullmatch(branding.background_color):
        problems.append(_problem("branding.backgroundColor", "must be a colour in the form #RRGGBB"))
    if branding.issuer_logo is not None and not _LOGO.fullmatch(branding.issuer_logo):
        problems.append(_problem("branding.issuerLogo", "must be an https: URL or a data:image/ URI"))
    if branding.watermark_image is not None and not _WATERMARK.fullmatch(branding.watermark_image):
        problems.append(_problem("branding.watermarkImage", "must be an https: URL or a data:image/png;base64 URI"))
    if branding.issuer_icon is not None and not _ICON.fullmatch(branding.issuer_icon):
        problems.append(_problem("branding.issuerIcon", "must be a data:image/svg+xml;base64 URI"))
    return problems


def find_claim_description_problems(config: FormatConfiguration) -> list[ErrorDetail]:
    """List duplicate claim paths and empty display names.

    OID4VCI Appendix A.16 (claims path pointer processing): the wallet "MUST abort" on duplicate paths, so they
    are refused here rather than published.
    """
    problems: list[ErrorDetail] = []
    seen: set[tuple[str | int | None, ...]] = set()
    for claim in config.claims:
        if claim.path in seen:
            problems.append(_problem(_claim_param(claim), "is configured more than once"))
        seen.add(claim.path)
        if any(not display.name.strip() for display in claim.display):
            problems.append(_problem(_claim_param(claim), "has an empty display name"))
    return problems


def _display(branding: Branding, credential_type: str) -> dict[str, Any]:
    display: dict[str, Any] = {"name": branding.name if branding.name is not None else credential_type}
    if branding.issuer_logo is not None:
        display["logo"] = {"uri": branding.issuer_logo}
    if branding.description is not None:
        display["description"] = branding.description
    if branding.background_color is not None:
        display["background_color"] = branding.background_color
    if branding.watermark_image is not None:
        display["background_image"] = {"uri": branding.watermark_image}
    return display


def _claim(claim: ClaimDescription) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": list(claim.path)}
    if claim.mandatory:
        entry["mandatory"] = True
    if claim.display:
        entry["display"] = [
            {"name": display.name} if display.locale is None else {"name": display.name, "locale": display.locale}
            for display in claim.display
        ]
    return entry


def _claim_param(claim: ClaimDescription) -> str:
    return "claimMappings." + ".".join("*" if part is None else str(part) for part in claim.path)


def _problem(param: str, msg: str) -> ErrorDetail:
    return ErrorDetail(location="body", param=param, msg=msg)
