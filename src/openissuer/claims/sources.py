"""Merge the claim sources of one issuance into the ``claims`` object that mappings read (reference §4.4).

Precedence, lowest to highest, exactly the order §4.4 suggests ("later sources override earlier ones: most
specific / freshest wins"; MATTR publishes no order, §14 question 2):

    persisted user claims < offer claims (Pre-auth) < IdP ID-token claims (Auth Code)
        < interaction-hook claims (Auth Code) < claims-source response

The merge is shallow (a later top-level key replaces the whole earlier value, §6.3 "merge = shallow overwrite"),
and a ``null`` value never overrides: ``null`` means "no value", so it cannot erase a value another source has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_claim_sources(
    *,
    persisted: Mapping[str, Any] | None = None,
    offer: Mapping[str, Any] | None = None,
    id_token: Mapping[str, Any] | None = None,
    interaction_hook: Mapping[str, Any] | None = None,
    claims_source: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge the sources in precedence order (later wins, ``null`` skipped); absent sources are ``None``.

    The claims source is called with the claims merged so far (§4.4 "may see everything above"): merge the
    first four, call it, then merge again with its response.
    """
    merged: dict[str, Any] = {}
    for source in (persisted, offer, id_token, interaction_hook, claims_source):
        if source is None:
            continue
        merged.update((key, value) for key, value in source.items() if value is not None)
    return merged
