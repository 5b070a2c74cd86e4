"""SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc "SD-JWT VC Type Metadata") of a configuration's ``vct``.

``{vct, name, description?, display[{locale, name, description?, rendering{simple{logo, background_color,
background_image}}}], claims[{path, display[{locale, label}], mandatory?, sd}]}``: the display comes from the
configuration's ``branding``, the claims from its claim mappings: ``sd`` is ``always`` for a disclosable claim and
``never`` otherwise (openissuer decides it per configuration, so ``allowed`` never applies). Display entries need a
``locale`` there; a name configured without one is given ``und`` (BCP 47 "undetermined").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openissuer.formats.base import ClaimDescription, FormatConfiguration

UNDETERMINED = "und"


def create_type_metadata(
    config: FormatConfiguration, *, is_disclosable: Callable[[tuple[Any, ...]], bool]
) -> dict[str, Any]:
    """Return the Type Metadata document of ``config.credential_type``."""
    branding = config.branding
    name = branding.name if branding is not None and branding.name else config.credential_type
    document: dict[str, Any] = {"vct": config.credential_type, "name": name}
    display: dict[str, Any] = {"locale": UNDETERMINED, "name": name}
    if branding is not None:
        if branding.description:
            document["description"] = branding.description
            display["description"] = branding.description
        simple: dict[str, Any] = {}
        if branding.issuer_logo:
            simple["logo"] = {"uri": branding.issuer_logo}
        if branding.background_color:
            simple["background_color"] = branding.background_color
        if branding.watermark_image:
            simple["background_image"] = {"uri": branding.watermark_image}
        if simple:
            display["rendering"] = {"simple": simple}
    document["display"] = [display]
    document["claims"] = [_claim(claim, is_disclosable) for claim in config.claims]
    return document


def _claim(claim: ClaimDescription, is_disclosable: Callable[[tuple[Any, ...]], bool]) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": list(claim.path)}
    if claim.display:
        entry["display"] = [{"locale": label.locale or UNDETERMINED, "label": label.name} for label in claim.display]
    if claim.mandatory:
        entry["mandatory"] = True
    entry["sd"] = "always" if is_disclosable(claim.path) else "never"
    return entry
