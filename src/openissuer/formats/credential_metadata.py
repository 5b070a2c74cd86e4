"""The format-independent ``credential_metadata`` object of a configuration (OID4VCI 1.0 §12.2.4).

``credential_metadata`` = ``{display: [...], claims: [...]}``: display objects ``{name, locale, logo{uri,
alt_text}, description, background_color, background_image{uri}, text_color}`` and claims description objects
``{path, mandatory, display[{name, locale}]}`` (Appendix B.2). Validation problems are returned as management API
error details, using the wire names of the reference platform's configuration (``branding.*``).
"""

from __future__ import annotations

import re
from typing import Any

from openissuer.errors import ErrorDetail
from openissuer.formats.base import Branding, ClaimDescription, FormatConfiguration

_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_IMAGE_URI = re.compile(r"(https://|data:image/)\S+")


def create_credential_metadata(config: FormatConfiguration) -> dict[str, Any] | None:
    """Return ``credential_metadata`` for ``config``, or None when it has neither branding nor claims."""
    metadata: dict[str, Any] = {}
    if config.branding is not None:
        metadata["display"] = [_display(config.branding)]
    if config.claims:
        metadata["claims"] = [_claim(claim) for claim in config.claims]
    return metadata or None


def find_display_problems(config: FormatConfiguration) -> list[ErrorDetail]:
    """List what is wrong with the branding and the claim descriptions (empty when nothing is).

    OID4VCI Appendix A.16 (claims path pointer processing): the wallet "MUST abort" on duplicate paths, so they
    are refused here rather than published.
    """
    problems: list[ErrorDetail] = []
    branding = config.branding
    if branding is not None:
        if not branding.name.strip():
            problems.append(_problem("branding.name", "must not be empty"))
        for param, color in (
            ("branding.backgroundColor", branding.background_color),
            ("branding.textColor", branding.text_color),
        ):
            if color is not None and not _COLOR.fullmatch(color):
                problems.append(_problem(param, "must be a colour in the form #RRGGBB"))
        for param, uri in (
            ("branding.issuerLogo", branding.logo_uri),
            ("branding.backgroundImage", branding.background_image_uri),
        ):
            if uri is not None and not _IMAGE_URI.fullmatch(uri):
                problems.append(_problem(param, "must be an https: URL or a data:image/ URI"))
    seen: set[tuple[str, ...]] = set()
    for claim in config.claims:
        if claim.path in seen:
            problems.append(_problem(_claim_param(claim), "is configured more than once"))
        seen.add(claim.path)
        if any(not display.name.strip() for display in claim.display):
            problems.append(_problem(_claim_param(claim), "has an empty display name"))
    return problems


def _display(branding: Branding) -> dict[str, Any]:
    display: dict[str, Any] = {"name": branding.name}
    if branding.locale is not None:
        display["locale"] = branding.locale
    if branding.logo_uri is not None:
        logo = {"uri": branding.logo_uri}
        if branding.logo_alt_text is not None:
            logo["alt_text"] = branding.logo_alt_text
        display["logo"] = logo
    if branding.description is not None:
        display["description"] = branding.description
    if branding.background_color is not None:
        display["background_color"] = branding.background_color
    if branding.background_image_uri is not None:
        display["background_image"] = {"uri": branding.background_image_uri}
    if branding.text_color is not None:
        display["text_color"] = branding.text_color
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
    return "claimMappings." + ".".join(claim.path)


def _problem(param: str, msg: str) -> ErrorDetail:
    return ErrorDetail(location="body", param=param, msg=msg)
